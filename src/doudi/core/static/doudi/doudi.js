// doudi: small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  const sidebar = document.getElementById("sidebar");
  if (toggle && sidebar) {
    toggle.addEventListener("click", () => {
      const open = sidebar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
  const large = document.querySelector("[data-large-text]");
  if (large) {
    large.addEventListener("click", () => {
      const on = document.body.classList.toggle("large-text");
      document.cookie = "large_text=" + (on ? "1" : "0") + "; path=/; max-age=31536000; samesite=lax";
    });
  }
  const add = document.querySelector("[data-add-member]");
  if (add) {
    add.addEventListener("click", () => {
      const total = document.getElementById("id_m-TOTAL_FORMS");
      const tpl = document.getElementById("member-template");
      const n = parseInt(total.value, 10);
      const html = tpl.innerHTML.replace(/__prefix__/g, String(n));
      document.getElementById("members").insertAdjacentHTML("beforeend", html);
      total.value = String(n + 1);
    });
  }
});
