// Basic accessibility facts of the page in the browser: returns a list of problems (empty: fine).
// - <html lang>, exactly one <h1>;
// - every visible form control has a label (label[for], a wrapping label, or aria-label);
// - aria-describedby points at elements that exist;
// - text contrast at least 4.5:1 (3:1 for large text), WCAG 2.x relative luminance, against the
//   first opaque background up the tree.
() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("html has no lang");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) ||
      el.closest("label") || el.getAttribute("aria-label");
    if (!labelled) problems.push(`unlabelled ${el.outerHTML.slice(0, 60)}`);
    for (const id of (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) problems.push(`aria-describedby ${id} is missing`);
    }
  }
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const selector = "h1, h2, p, li, a, button, label, th, td, .tag, .hint, .field-error, caption";
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (!el.textContent.trim() || style.visibility === "hidden" || el.offsetParent === null) continue;
    const fg = rgb(style.color).slice(0, 3);
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      problems.push(`contrast ${ratio.toFixed(2)} on ${el.tagName} "${el.textContent.trim().slice(0, 30)}"`);
    }
  }
  return problems;
}
