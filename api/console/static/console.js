// Keyboard shortcuts for the moderator console. No inline scripts: the CSP forbids them.
// c claim · s confirm scam · n not a scam · j / → next item · k / ← queue · u undo the last decision.
(function () {
  "use strict";

  function submit(id) {
    var form = document.getElementById(id);
    if (!form) { return false; }
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
    return true;
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var item = document.getElementById("item");
    var done = false;
    switch (event.key) {
      case "c": done = submit("claim-form"); break;
      case "s": done = submit("decide-confirm_scam"); break;
      case "n": done = submit("decide-not_scam"); break;
      case "u": done = submit("undo-form"); break;
      case "j":
      case "ArrowRight": {
        var next = document.getElementById("next-link");
        if (next) {
          var url = next.getAttribute("href");
          if (item) { url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(item.dataset.itemId); }
          window.location.assign(url);
          done = true;
        }
        break;
      }
      case "k":
      case "ArrowLeft": {
        var home = document.querySelector(".top .brand");
        if (home && item) { window.location.assign(home.getAttribute("href")); done = true; }
        break;
      }
      default: break;
    }
    if (done) { event.preventDefault(); }
  });
}());
