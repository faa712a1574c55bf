// jitgate admin portal: show the JWKS field that the chosen key source uses. Without
// JavaScript both stay visible and the server ignores the one not chosen.
"use strict";
document.querySelectorAll("form").forEach((form) => {
  const radios = form.querySelectorAll('input[name="jwks_source"]');
  if (!radios.length) return;
  const paste = form.querySelector('[name="jwks"]').closest(".field");
  const url = form.querySelector('[name="jwks_uri"]').closest(".field");
  const sync = () => {
    const byUrl = form.querySelector('input[name="jwks_source"]:checked').value === "url";
    paste.hidden = byUrl;
    url.hidden = !byUrl;
  };
  radios.forEach((r) => r.addEventListener("change", sync));
  sync();
});
