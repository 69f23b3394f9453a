/**
 * The forget set as pictures: thumbnails ranked by how strongly the model still remembers each
 * example, with the original's and the oracle's predictions, a class filter, and one example's
 * numbers on click.
 */
import type { ExampleView, ForgetExample, ForgetView } from '../forget.js';
import { clear, fixed, h, pct, q } from './dom.js';

const PAGE = 120;

const RANKING: Record<ForgetView['ranking'], string> = {
  audit:
    "the membership audit's per-example attack accuracy (then separation): 0.5 = forgotten like retraining, higher = still told apart as a member",
  'oracle-gap':
    'the confidence gap to the retrain oracle: φ = log p_y − log Σ_{c≠y} p_c of this model minus the oracles’ mean φ; > 0 = more confident than retraining, i.e. remembered',
  confidence: "this model's own confidence margin φ (no oracle to compare with)",
};

export function forgetPage(initial: { path: string }): void {
  const app = document.getElementById('app')!;
  clear(app, h('p', { class: 'muted', id: 'loading' }, 'Loading the forget set…'));
  fetch(`/api/forget?path=${q(initial.path)}`)
    .then(async (r) => {
      const body = (await r.json()) as ForgetView | { error: string };
      if ('error' in body) throw new Error(body.error);
      render(body);
    })
    .catch((error: Error) =>
      clear(
        app,
        h(
          'div',
          { class: 'callout', id: 'unreadable' },
          h('strong', {}, 'Unreadable'),
          error.message,
        ),
      ),
    );

  function render(view: ForgetView): void {
    const name = (c: number): string => view.classNames?.[c] ?? String(c);
    document.getElementById('subtitle')!.textContent =
      `${view.method} · ${view.data} · ${view.examples.length} forget examples`;
    let cls = '';
    let shown = PAGE;
    let selected: ForgetExample | null = null;
    const grid = h('div', { class: 'thumbs', id: 'thumbs' });
    const detail = h(
      'div',
      { class: 'detail', id: 'detail' },
      h('p', { class: 'muted' }, 'Click an example to see its numbers.'),
    );
    const more = h(
      'button',
      { type: 'button', id: 'more', onclick: () => ((shown += PAGE), draw()) },
      'Show more',
    );
    const classes = [...new Set(view.examples.map((e) => e.label))].sort((a, b) => a - b);
    const filter = h(
      'select',
      {
        id: 'filter-class',
        onchange: (e: Event) => (
          (cls = (e.target as HTMLSelectElement).value),
          (shown = PAGE),
          draw()
        ),
      },
      h('option', { value: '' }, 'all classes'),
      classes.map((c) => h('option', { value: String(c) }, `${c}: ${name(c)}`)),
    );
    const predTag = (who: string, v: ExampleView | undefined, y: number): HTMLElement | null =>
      v
        ? h(
            'span',
            {
              class: `pred ${v.pred === y ? 'right' : 'wrong'}`,
              title: `${who} predicts ${name(v.pred)}`,
            },
            `${who === 'this run' ? 'T' : who === 'original' ? 'O' : 'R'}:${v.pred}`,
          )
        : null;
    const rankOf = new Map(view.examples.map((e, i) => [e, i + 1]));

    const showDetail = (e: ForgetExample): void => {
      selected = e;
      const row = (who: string, v: ExampleView | undefined): HTMLElement =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, who),
          h('td', {}, v ? name(v.pred) : '—'),
          h('td', { class: 'num' }, v ? pct(v.py, 1) : '—'),
          h('td', { class: 'num' }, v ? fixed(v.phi, 2) : '—'),
        );
      clear(
        detail,
        h('h3', {}, `Example ${e.index} · rank ${rankOf.get(e)} of ${view.examples.length}`),
        h('img', {
          src: `/api/thumb?path=${q(view.path)}&index=${e.index}`,
          alt: `training example ${e.index}`,
          style: 'width:168px;height:168px;image-rendering:pixelated;background:#000',
        }),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'label'),
          h('dd', {}, `${e.label}: ${name(e.label)}`),
          h('dt', {}, 'score'),
          h('dd', { id: 'detail-score' }, fixed(e.score, 3)),
          e.gap !== undefined
            ? [h('dt', {}, 'φ gap to oracle'), h('dd', {}, fixed(e.gap, 3))]
            : null,
        ),
        h(
          'table',
          { class: 'list', id: 'detail-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'Model'),
              h('th', {}, 'Predicts'),
              h('th', { class: 'num' }, 'p(label)'),
              h('th', { class: 'num' }, 'φ'),
            ),
          ),
          h(
            'tbody',
            {},
            row('this run', e.model),
            row('original', e.original),
            row('oracle', e.oracle),
          ),
        ),
        e.audit
          ? h(
              'dl',
              { class: 'facts', id: 'detail-audit' },
              h('dt', {}, 'attack accuracy'),
              h('dd', {}, fixed(e.audit.accuracy, 3)),
              h('dt', {}, 'separation'),
              h('dd', {}, fixed(e.audit.separation, 3)),
              h('dt', {}, 'unlearned φ'),
              h(
                'dd',
                {},
                `${fixed(e.audit.unlearned.mean, 2)} ± ${fixed(e.audit.unlearned.std, 2)} (n ${e.audit.unlearned.n})`,
              ),
              h('dt', {}, 'retrained φ'),
              h(
                'dd',
                {},
                `${fixed(e.audit.retrained.mean, 2)} ± ${fixed(e.audit.retrained.std, 2)} (n ${e.audit.retrained.n})`,
              ),
            )
          : null,
      );
      for (const el of grid.querySelectorAll('.thumb.selected')) el.classList.remove('selected');
      grid.querySelector(`[data-index="${e.index}"]`)?.classList.add('selected');
    };

    const draw = (): void => {
      const list = view.examples.filter((e) => cls === '' || String(e.label) === cls);
      clear(
        grid,
        ...list.slice(0, shown).map((e) =>
          h(
            'div',
            {
              class: `thumb${selected === e ? ' selected' : ''}`,
              'data-index': e.index,
              tabindex: 0,
              onclick: () => showDetail(e),
              onkeydown: (k: Event) => (k as KeyboardEvent).key === 'Enter' && showDetail(e),
            },
            h('img', {
              src: `/api/thumb?path=${q(view.path)}&index=${e.index}`,
              alt: `${name(e.label)} #${e.index}`,
              loading: 'lazy',
            }),
            h('div', {}, `#${rankOf.get(e)} · ${fixed(e.score, 2)}`),
            h(
              'div',
              { class: 'preds' },
              predTag('this run', e.model, e.label),
              predTag('original', e.original, e.label),
              predTag('oracle', e.oracle, e.label),
            ),
          ),
        ),
      );
      more.classList.toggle('hidden', list.length <= shown);
    };
    clear(
      app,
      h(
        'p',
        { id: 'ranking', 'data-ranking': view.ranking },
        h('strong', {}, 'Ranked by '),
        RANKING[view.ranking],
        view.audit ? ` (audit ${view.audit})` : '',
      ),
      ...view.notes.map((n) => h('p', { class: 'note' }, n)),
      h(
        'div',
        { class: 'filters' },
        h('label', {}, 'Class', filter),
        h(
          'span',
          { class: 'note' },
          'Tags: T = this run, O = original, R = retrain oracle; green = predicts the label.',
        ),
      ),
      h('div', { class: 'forget-layout' }, h('div', {}, grid, more), detail),
    );
    draw();
  }
}
