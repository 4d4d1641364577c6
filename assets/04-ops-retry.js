/* Client half of ops/outage.py: while the database is unreachable a callback answers 503 with
   {"error": "The database is not reachable, retrying."} and a Retry-After header. Instead of
   leaving the page half drawn, retry that same callback request after Retry-After seconds
   (for up to about five minutes) and show the server's message in a banner meanwhile; the
   banner goes as soon as a callback succeeds. Only /_dash-update-component is retried. */
(function () {
  "use strict";
  var nativeFetch = window.fetch.bind(window);
  var MAX_TRIES = 150;
  var banner = null;

  function show(message) {
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "ops-outage-banner";
      banner.setAttribute("role", "status");
      banner.className = "alert alert-warning shadow-sm";
      banner.style.cssText =
        "position:fixed;top:0.5rem;left:50%;transform:translateX(-50%);z-index:2000;";
      document.body.appendChild(banner);
    }
    banner.textContent = message;
  }

  function hide() {
    if (banner) {
      banner.remove();
      banner = null;
    }
  }

  function isCallback(input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return url.indexOf("/_dash-update-component") !== -1;
  }

  window.fetch = function (input, init) {
    if (!isCallback(input)) {
      return nativeFetch(input, init);
    }
    var tries = 0;
    function attempt() {
      return nativeFetch(input, init).then(function (response) {
        if (response.status !== 503) {
          hide();
          return response;
        }
        if (tries >= MAX_TRIES) {
          return response;
        }
        tries += 1;
        var seconds = parseInt(response.headers.get("Retry-After"), 10) || 2;
        return response
          .clone()
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            show(body.error || "The server is unavailable, retrying.");
            return new Promise(function (resolve) {
              setTimeout(resolve, seconds * 1000);
            }).then(attempt);
          });
      });
    }
    return attempt();
  };
})();
