/** A picture of a confusion matrix (row-normalised colour, counts as text), through Vega-Lite. */
import { chartToPng, type ChartSpec } from '../util/charts.js';
import type { ConfusionMatrix } from './classification/confusion.js';

export function confusionChartSpec(cm: ConfusionMatrix, classes: string[], title = 'Confusion matrix'): ChartSpec {
  const values = [];
  for (let i = 0; i < classes.length; i++) {
    const rowTotal = cm[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < classes.length; j++) {
      values.push({ true: classes[i], predicted: classes[j], count: cm[i][j], fraction: rowTotal ? cm[i][j] / rowTotal : 0 });
    }
  }
  const cell = Math.max(28, Math.min(60, Math.floor(420 / Math.max(1, classes.length))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title, data: { values },
    width: cell * classes.length, height: cell * classes.length,
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: classes, axis: { labelAngle: -40, title: 'predicted class' } },
      y: { field: 'true', type: 'nominal', sort: classes, title: 'true class' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'fraction', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'row fraction' } } },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.fraction > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: { background: 'white' },
  } as ChartSpec;
}

export async function confusionChartPng(cm: ConfusionMatrix, classes: string[], title?: string): Promise<Buffer> {
  return chartToPng(confusionChartSpec(cm, classes, title));
}
