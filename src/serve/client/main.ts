/** The dashboard's script: each page renders from its embedded data, then follows the server. */
import { comparisonPage } from './comparison-page.js';
import { pageData } from './dom.js';
import { forgetPage } from './forget-page.js';
import { indexPage } from './index-page.js';
import { runPage } from './run-page.js';

const pages: Record<string, (data: never) => void> = {
  index: indexPage,
  run: runPage,
  comparison: comparisonPage,
  forget: forgetPage,
};

pages[document.body.dataset.page ?? 'index']?.(pageData<never>());
