/**
 * The audit's figure: for each method, the forget examples that give it away most (the per-example
 * attack's highest accuracy on held-out targets) and those it hides best, as thumbnails from the
 * data set with each example's accuracy and class. A PNG, so a README can show it.
 */
import type { ImageDataset } from '../data/dataset.js';
import { escapeHtml } from './html.js';

/** One audited example as `examples.json` records it (the fields the figure reads). */
export interface FigureExample {
  index: number;
  label: number;
  accuracy: number;
  separation: number;
}

/** One row of the figure: a method, its overall attack accuracy and its examples. */
export interface FigureRow {
  method: string;
  accuracy: number;
  examples: FigureExample[];
}

const SCALE = 2;
const GAP = 6;
const LABEL_WIDTH = 200;
const CAPTION = 26;
const TITLE = 58;

/** Ranks examples from most to least betraying: attack accuracy, then separation. */
export function rankExamples(examples: readonly FigureExample[]): FigureExample[] {
  return examples
    .filter((e) => Number.isFinite(e.accuracy))
    .sort(
      (a, b) =>
        b.accuracy - a.accuracy ||
        (Number.isFinite(b.separation) ? b.separation : -Infinity) -
          (Number.isFinite(a.separation) ? a.separation : -Infinity) ||
        a.index - b.index,
    );
}

/** One image of `ds` as 8-bit interleaved pixels (channels 1 or 3), ready for sharp's raw input. */
function pixels(ds: ImageDataset, index: number): Buffer {
  const [c, h, w] = ds.shape;
  const per = c * h * w;
  const src = ds.images.subarray(index * per, (index + 1) * per);
  const out = Buffer.alloc(per);
  const scale = ds.images instanceof Float32Array ? 255 : 1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++)
        out[(y * w + x) * c + ch] = Math.max(
          0,
          Math.min(255, Math.round(src[ch * h * w + y * w + x] * scale)),
        );
  return out;
}

/**
 * Renders the figure: per row, the `count` most betraying examples, a gap, and the `count` least.
 * Returns PNG bytes.
 */
export async function renderAuditFigure(
  rows: readonly FigureRow[],
  ds: ImageDataset,
  options: { count?: number; title?: string } = {},
): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const count = options.count ?? 10;
  const [c, h, w] = ds.shape;
  const cell = w * SCALE + GAP;
  const rowHeight = h * SCALE + CAPTION + GAP;
  const width = LABEL_WIDTH + 2 * count * cell + 3 * GAP;
  const height = TITLE + rows.length * rowHeight + GAP;
  const text: string[] = [];
  const images: { input: Buffer; top: number; left: number }[] = [];
  const left0 = LABEL_WIDTH;
  const left1 = LABEL_WIDTH + count * cell + 3 * GAP;
  text.push(
    `<text x="8" y="20" font-size="15" font-weight="bold">${escapeHtml(options.title ?? 'U-LiRA, per forget example')}</text>`,
    `<text x="${left0}" y="${TITLE - 8}" font-size="13">gives the method away most (attack accuracy on the example, class)</text>`,
    `<text x="${left1}" y="${TITLE - 8}" font-size="13">hides it best</text>`,
  );
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const top = TITLE + r * rowHeight;
    text.push(
      `<text x="8" y="${top + 22}" font-size="14" font-weight="bold">${escapeHtml(row.method)}</text>`,
      `<text x="8" y="${top + 42}" font-size="12" fill="#5b6475">attack ${(row.accuracy * 100).toFixed(1)}%</text>`,
    );
    const ranked = rankExamples(row.examples);
    const groups = [ranked.slice(0, count), ranked.slice(-count).reverse()];
    for (const [g, group] of groups.entries()) {
      for (const [i, e] of group.entries()) {
        const left = (g === 0 ? left0 : left1) + i * cell;
        images.push({
          input: await sharp(pixels(ds, e.index), {
            raw: { width: w, height: h, channels: c as 1 | 3 },
          })
            .resize(w * SCALE, h * SCALE, { kernel: 'nearest' })
            .png()
            .toBuffer(),
          top,
          left,
        });
        const name = ds.classNames[e.label] ?? String(e.label);
        text.push(
          `<text x="${left}" y="${top + h * SCALE + 11}" font-size="10">${(e.accuracy * 100).toFixed(0)}%</text>`,
          `<text x="${left}" y="${top + h * SCALE + 22}" font-size="9" fill="#5b6475">${escapeHtml(name.slice(0, 9))}</text>`,
        );
      }
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#ffffff"/><g font-family="DejaVu Sans, sans-serif" fill="#1d2330">${text.join('')}</g></svg>`;
  return sharp(Buffer.from(svg)).composite(images).png().toBuffer();
}
