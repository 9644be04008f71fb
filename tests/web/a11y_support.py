"""Accessibility checks run in the page: WCAG 2.2 target sizes, and axe-core's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

axe_selenium_python = pytest.importorskip(
    "axe_selenium_python", reason="axe-selenium-python is not installed (pip install -e .[test])"
)
# axe-selenium-python ships axe-core's axe.min.js beside its module; we inject it ourselves.
AXE_JS = Path(axe_selenium_python.__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

# Returns the page's interactive elements that fail WCAG 2.2 SC 2.5.8 (Target Size, Minimum):
# smaller than 24x24 CSS px, not inline in a sentence, and closer to another target than the
# spacing exception allows. One function, so a failure lists every offender by selector.
TARGETS_JS = r"""
const MIN = 24, R = MIN / 2;
function selector(el) {
  const parts = [];
  for (let e = el; e && e.nodeType === 1 && e !== document.body; e = e.parentElement) {
    if (e.id) { parts.unshift(e.localName + '#' + CSS.escape(e.id)); break; }
    const same = [...e.parentElement.children].filter(s => s.localName === e.localName);
    parts.unshift(same.length > 1
      ? `${e.localName}:nth-of-type(${same.indexOf(e) + 1})` : e.localName);
  }
  return parts.join(' > ');
}
function visible(el) {
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  return style.visibility !== 'hidden' && style.display !== 'none'
    && box.width > 0 && box.height > 0;
}
function words(el) { return el.textContent.replace(/\s+/g, ' ').trim(); }
const query = 'a[href], button, input:not([type=hidden]), select, textarea, summary, label';
// The WCAG inline exception: an inline target in a block that has text of its own.
function inSentence(el) {
  if (getComputedStyle(el).display !== 'inline') return false;
  let block = el.parentElement;
  while (block && getComputedStyle(block).display.startsWith('inline')) {
    block = block.parentElement;
  }
  if (!block) return false;
  const walk = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const target = node.parentElement.closest(query);
    if (node.textContent.trim() && (!target || target.contains(block))) return true;
  }
  return false;
}
// A control inside its own label is part of the label's target, which is measured instead.
function insideItsLabel(el) {
  const label = el.parentElement && el.parentElement.closest('label');
  return !!label && label.control === el;
}
function oneTarget(a, b) { return a.contains(b) || b.contains(a); }
function circleHitsBox(cx, cy, box) {
  const dx = cx - Math.max(box.left, Math.min(cx, box.right));
  const dy = cy - Math.max(box.top, Math.min(cy, box.bottom));
  return dx * dx + dy * dy < R * R;
}
const targets = [...document.querySelectorAll(query)]
  .filter(el => el.localName === 'label' ? el.control : !insideItsLabel(el))
  .filter(visible)
  .map(el => ({el, box: el.getBoundingClientRect()}));
const small = targets.filter(t => t.box.width < MIN || t.box.height < MIN);
const centre = t => [t.box.left + t.box.width / 2, t.box.top + t.box.height / 2];
return small.filter(t => !inSentence(t.el)).filter(t => {
  const [cx, cy] = centre(t);
  return targets.some(o => o !== t && !oneTarget(o.el, t.el) && (
    circleHitsBox(cx, cy, o.box)
    || (small.includes(o) && Math.hypot(cx - centre(o)[0], cy - centre(o)[1]) < MIN)));
}).map(t => ({
  selector: selector(t.el),
  text: words(t.el).slice(0, 40),
  width: Math.round(t.box.width * 10) / 10,
  height: Math.round(t.box.height * 10) / 10,
}));
"""


def small_targets(driver) -> list[dict]:
    """The current page's targets that fail WCAG 2.2 SC 2.5.8, with selector and size."""
    return driver.execute_script(TARGETS_JS)


def describe_targets(offenders: list[dict]) -> str:
    """One line per undersized target: selector, size and text."""
    return "\n".join(
        f"  {o['selector']} is {o['width']}x{o['height']} px ({o['text']!r})" for o in offenders
    )


def axe_violations(driver) -> list[dict]:
    """axe-core's violations on the current page whose impact is serious or critical."""
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    results = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(done, e => done({error: String(e)}));"
    )
    assert "error" not in results, results.get("error")
    return [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations: list[dict]) -> str:
    """One line per violation: rule id, impact, what it means and the offending selectors."""
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"])
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)
