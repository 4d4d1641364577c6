/* Client half of components/actions.py: every new action result (class "action-result") is
   scrolled into view, and the controls it names (data-fields) are outlined as invalid until
   they are edited. One observer for the whole app, so pages register no callback for it. */
(function () {
  "use strict";
  function mark(result) {
    var ids = (result.getAttribute("data-fields") || "").split(" ");
    ids.forEach(function (id) {
      var el = id && document.getElementById(id);
      if (el) {
        el.classList.add("is-invalid");
        el.setAttribute("aria-invalid", "true");
      }
    });
  }
  function reveal(result) {
    mark(result);
    var box = result.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      result.scrollIntoView({ block: "center" });
    }
  }
  var observer = new MutationObserver(function (mutations) {
    mutations.forEach(function (m) {
      m.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1) return;
        if (node.classList.contains("action-result")) {
          reveal(node);
        } else {
          node.querySelectorAll(".action-result").forEach(reveal);
        }
      });
    });
  });
  function start() {
    observer.observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener(
    "input",
    function (e) {
      if (e.target && e.target.classList) {
        e.target.classList.remove("is-invalid");
        e.target.removeAttribute("aria-invalid");
      }
    },
    true
  );
})();
