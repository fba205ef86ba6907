/* The merge-field picker in Draftail's toolbar (rich-text feature "stepmail-merge-field").
 *
 * Loaded after Wagtail's draftail.js and merge-fields.js (the feature's media lists both), so the
 * control is registered before any editor is created: an editor created before would get the
 * control without its component. No build step: the React and Draft.js of Wagtail's admin
 * (window.React, window.DraftJS) with React.createElement.
 */
(function () {
  "use strict";

  function registerDraftailControl() {
    var React = window.React;
    var DraftJS = window.DraftJS;
    if (!window.draftail || !React || !DraftJS) {
      return;
    }
    var h = React.createElement;

    function insertText(editorState, text) {
      var selection = editorState.getSelection();
      var content = DraftJS.Modifier.replaceText(
        editorState.getCurrentContent(),
        selection,
        text,
        editorState.getCurrentInlineStyle()
      );
      var next = DraftJS.EditorState.push(editorState, content, "insert-characters");
      return DraftJS.EditorState.forceSelection(next, content.getSelectionAfter());
    }

    // A class component: window.React is a legacy global copy of React (16), not the renderer
    // Draftail runs in, so hooks would fail; classes and elements work across both.
    class MergeFieldControl extends React.Component {
      constructor(props) {
        super(props);
        this.state = { open: false };
        this.holder = null;
        this.menu = null;
        this.setHolder = (node) => {
          this.holder = node;
        };
        this.outside = (event) => {
          if (this.holder && !this.holder.parentNode.contains(event.target)) {
            this.setState({ open: false });
          }
        };
      }

      componentDidUpdate(prevProps, prevState) {
        if (this.state.open === prevState.open) {
          return;
        }
        if (this.state.open) {
          this.menu = window.stepmailMergeFields.buildMenu(
            (field) => {
              this.props.onChange(insertText(this.props.getEditorState(), field.tag));
              this.setState({ open: false });
            },
            () => this.setState({ open: false })
          );
          this.holder.appendChild(this.menu);
          document.addEventListener("mousedown", this.outside, true);
        } else {
          this.closeMenu();
        }
      }

      componentWillUnmount() {
        this.closeMenu();
      }

      closeMenu() {
        document.removeEventListener("mousedown", this.outside, true);
        if (this.menu) {
          this.menu.remove();
          this.menu = null;
        }
      }

      render() {
        var texts = window.stepmailMergeFields.config().texts;
        var open = this.state.open;
        return h(
          "span",
          { className: "stepmail-merge-picker stepmail-merge-picker--draftail" },
          h(
            "button",
            {
              type: "button",
              className: "Draftail-ToolbarButton stepmail-merge-picker__toggle",
              "aria-haspopup": "menu",
              "aria-expanded": open ? "true" : "false",
              "aria-label": texts.button,
              title: texts.button,
              "data-stepmail-merge-control": "1",
              onMouseDown: (event) => {
                event.preventDefault(); // Draftail keeps its selection: the tag goes at the caret
              },
              onClick: () => this.setState({ open: !open }),
            },
            h("span", { className: "stepmail-merge-picker__icon", "aria-hidden": "true" }, "{ }"),
            h("span", { className: "stepmail-merge-picker__text" }, texts.button)
          ),
          h("span", { ref: this.setHolder })
        );
      }
    }

    window.draftail.registerPlugin(
      // "meta": shown in the toolbar under the editor, which is always there (the floating
      // toolbar above only appears over selected text, and a tag goes at the caret).
      { type: "stepmail-merge-field", meta: MergeFieldControl },
      "controls"
    );
  }

  registerDraftailControl();
})();
