'use strict';
// The page's one script. It reads operations through data attributes and
// writes only with textContent and classList: nothing from the history is
// ever parsed as markup or run.
(function () {
  const byIndex = new Map();
  for (const el of document.querySelectorAll('.op[data-i]')) {
    const k = el.dataset.i;
    if (!byIndex.has(k)) byIndex.set(k, []);
    byIndex.get(k).push(el);
  }
  let lit = [];
  function clear() {
    for (const el of lit) el.classList.remove('hl');
    lit = [];
    for (const a of document.querySelectorAll('li.anomaly.selected')) a.classList.remove('selected');
  }
  function select(li) {
    const was = li.classList.contains('selected');
    clear();
    if (was) return;
    li.classList.add('selected');
    const ops = (li.dataset.ops || '').split(' ').filter(Boolean);
    for (const k of ops) for (const el of byIndex.get(k) || []) { el.classList.add('hl'); lit.push(el); }
    if (lit.length) lit[0].scrollIntoView({block: 'center', inline: 'center'});
  }
  function flash(k) {
    const els = byIndex.get(k);
    if (!els) return false;
    for (const el of document.querySelectorAll('.op.flash')) el.classList.remove('flash');
    els[0].classList.add('flash');
    els[0].scrollIntoView({block: 'center', inline: 'center'});
    return true;
  }
  document.addEventListener('click', function (ev) {
    const ref = ev.target.closest('a.opref');
    if (ref) {
      if (flash(ref.dataset.op)) ev.preventDefault();
      return;
    }
    if (ev.target.closest('summary')) return;
    const li = ev.target.closest('li.anomaly');
    if (li && li.dataset.ops) select(li);
  });
  document.addEventListener('keydown', function (ev) {
    const li = ev.target.closest && ev.target.closest('li.anomaly');
    if (li && (ev.key === 'Enter' || ev.key === ' ') && li.dataset.ops) { ev.preventDefault(); select(li); }
  });
  const tip = document.getElementById('tip');
  document.addEventListener('mouseover', function (ev) {
    const el = ev.target.closest && ev.target.closest('.op[data-t]');
    if (!el) { tip.hidden = true; return; }
    tip.textContent = el.dataset.t;
    tip.hidden = false;
  });
  document.addEventListener('mousemove', function (ev) {
    if (tip.hidden) return;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 8 : ev.clientY + 16;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  });
})();
