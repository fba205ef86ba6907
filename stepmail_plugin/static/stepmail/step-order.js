/* The page explorer's drag-and-drop reorder shows nothing when the server refuses it (Wagtail's
 * orderable controller only throws), and leaves the rows in the refused order. Step mail refuses
 * a reorder that would put a later mail before an earlier one and keeps the reason as a message:
 * reload the listing so the editor sees the message and the order that was kept. */
(function () {
  "use strict";
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    var message = reason && reason.message ? String(reason.message) : "";
    if (message.indexOf("HTTP error! Status: 400") === 0 &&
        document.querySelector("[data-controller~='w-orderable']")) {
      window.location.reload();
    }
  });
})();
