// The texted link's page: press "Open my desk" for the agent. A link preview that only
// fetches the page does not run this, so it cannot spend the one-time link.
"use strict";
(function () {
  var form = document.getElementById("link-form");
  if (form && !sessionStorage.getItem("ivr-desk-link-" + form.action)) {
    sessionStorage.setItem("ivr-desk-link-" + form.action, "1");
    form.submit();
  }
})();
