// Sign-up and "New practice": put the browser's time zone in the hidden field, preselect it in
// the zone list, and suggest its currency (from the table the currency list carries), until
// the person picks their own. The server validates all of it and has its own fallback.
(function () {
  "use strict";
  var hidden = document.querySelector("input[data-detect-time-zone]");
  if (!hidden) return;
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  hidden.value = zone;
  var form = hidden.form;
  var zoneSelect = form.querySelector("select[data-zone-select]");
  var currencySelect = form.querySelector("select[data-currency-by-zone]");
  var table = currencySelect ? JSON.parse(currencySelect.dataset.currencyByZone) : {};
  var currencyTouched = false;

  function currencyFor(name) {
    if (table[name]) return table[name];
    for (var prefix in table) {
      if (prefix.slice(-1) === "/" && name.indexOf(prefix) === 0) return table[prefix];
    }
    return "GBP";
  }

  function suggestCurrency() {
    if (!currencySelect || currencyTouched) return;
    var chosen = (zoneSelect && zoneSelect.value) || zone;
    currencySelect.value = currencyFor(chosen);
  }

  if (zoneSelect && !zoneSelect.value && zoneSelect.querySelector('option[value="' + zone + '"]')) {
    zoneSelect.value = zone;
  }
  if (zoneSelect) zoneSelect.addEventListener("change", suggestCurrency);
  if (currencySelect) {
    currencySelect.addEventListener("change", function () { currencyTouched = true; });
  }
  suggestCurrency();
})();
