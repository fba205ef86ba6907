/* The merge-field picker of the step-mail editor (no build step: plain ES2017 over the React and
 * Draft.js that Wagtail's admin exposes as window.React and window.DraftJS).
 *
 * - In rich-text paragraphs: a Draftail toolbar control (feature "stepmail-merge-field"), in
 *   merge-fields-draftail.js, which uses this file's menu.
 * - In text inputs marked data-stepmail-merge (subject, preheader): a small button after the
 *   field opening the same list, inserting at the caret.
 *
 * The list (labels in the editor's language, the tag to insert) comes from the JSON script
 * #stepmail-merge-fields that the page editor renders (insert_editor_js hook).
 */
(function () {
  "use strict";
  if (window.stepmailMergeFields) {
    return; // already loaded
  }

  function config() {
    var node = document.getElementById("stepmail-merge-fields");
    if (!node) {
      return { fields: [], texts: { button: "{ }", title: "" } };
    }
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return { fields: [], texts: { button: "{ }", title: "" } };
    }
  }

  /* A list of fields as a menu; onPick(field) is called with the chosen one. */
  function buildMenu(onPick, onClose) {
    var data = config();
    var menu = document.createElement("div");
    menu.className = "stepmail-merge-menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", data.texts.button);
    if (data.texts.title) {
      var title = document.createElement("p");
      title.className = "stepmail-merge-menu__title";
      title.textContent = data.texts.title;
      menu.appendChild(title);
    }
    data.fields.forEach(function (field) {
      var item = document.createElement("button");
      item.type = "button";
      item.className = "stepmail-merge-menu__item";
      item.setAttribute("role", "menuitem");
      item.setAttribute("data-merge-field", field.name);
      item.title = field.tag;
      var label = document.createElement("span");
      label.className = "stepmail-merge-menu__label";
      label.textContent = field.label;
      var description = document.createElement("span");
      description.className = "stepmail-merge-menu__description";
      description.textContent = field.description;
      item.appendChild(label);
      item.appendChild(description);
      // mousedown, not click: the field (or Draftail) keeps its focus and caret.
      item.addEventListener("mousedown", function (event) {
        event.preventDefault();
      });
      item.addEventListener("click", function (event) {
        event.preventDefault();
        onPick(field);
      });
      menu.appendChild(item);
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "Escape") {
        event.preventDefault();
        onClose(true);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var next = event.key === "ArrowDown" ? index + 1 : index - 1;
        items[(next + items.length) % items.length].focus();
      }
    });
    return menu;
  }

  /* -- text inputs (subject, preheader) ------------------------------------------------------ */

  function insertAtCaret(input, text) {
    var start = input.selectionStart == null ? input.value.length : input.selectionStart;
    var end = input.selectionEnd == null ? start : input.selectionEnd;
    input.focus();
    input.setRangeText(text, start, end, "end");
    // Wagtail notices edits (unsaved-changes warning, preview refresh) through input events.
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function enhanceInput(input) {
    if (input.dataset.stepmailMergeReady) {
      return;
    }
    input.dataset.stepmailMergeReady = "1";
    var texts = config().texts;
    var wrapper = document.createElement("span");
    wrapper.className = "stepmail-merge-picker";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small button-secondary stepmail-merge-picker__toggle";
    button.setAttribute("aria-haspopup", "menu");
    button.setAttribute("aria-expanded", "false");
    button.textContent = texts.button;
    if (input.id) {
      button.setAttribute("data-merge-for", input.id);
    }
    wrapper.appendChild(button);
    input.insertAdjacentElement("afterend", wrapper);

    var menu = null;
    function close(refocus) {
      if (menu) {
        menu.remove();
        menu = null;
      }
      button.setAttribute("aria-expanded", "false");
      document.removeEventListener("mousedown", outside, true);
      if (refocus) {
        input.focus();
      }
    }
    function outside(event) {
      if (menu && !wrapper.contains(event.target)) {
        close(false);
      }
    }
    button.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep the input's caret where the editor left it
    });
    button.addEventListener("click", function () {
      if (menu) {
        close(true);
        return;
      }
      menu = buildMenu(function (field) {
        insertAtCaret(input, field.tag);
        close(false);
      }, close);
      wrapper.appendChild(menu);
      button.setAttribute("aria-expanded", "true");
      document.addEventListener("mousedown", outside, true);
    });
  }

  function enhanceAll(root) {
    var inputs = (root || document).querySelectorAll("input[data-stepmail-merge]");
    Array.prototype.forEach.call(inputs, enhanceInput);
  }

  function watch() {
    enhanceAll(document);
    // StreamField blocks and inline panels add inputs later.
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        Array.prototype.forEach.call(record.addedNodes, function (node) {
          if (node.nodeType !== 1) {
            return;
          }
          if (node.matches("input[data-stepmail-merge]")) {
            enhanceInput(node);
          } else {
            enhanceAll(node);
          }
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }

  // For merge-fields-draftail.js (the paragraph's toolbar control).
  window.stepmailMergeFields = { enhanceAll: enhanceAll, buildMenu: buildMenu, config: config };
})();
