// Shared cytoscape look (kept free of the cytoscape import itself so it can be unit-tested cheaply).
export const LABEL_COLOR = '#18202f'

export function baseStyle(opts: { minZoomedFontSize: number; big: boolean; fontSize?: number; edgeOpacity?: number }): unknown[] {
  return [
    {
      selector: 'node',
      style: {
        'background-color': 'data(color)',
        width: 'data(size)',
        height: 'data(size)',
        label: 'data(label)',
        'font-size': opts.fontSize ?? 11,
        'font-family': 'Inter, system-ui, sans-serif',
        color: LABEL_COLOR,
        'text-valign': 'bottom',
        'text-margin-y': 4,
        'text-outline-color': '#ffffff',
        'text-outline-width': opts.big ? 0 : 2,
        'min-zoomed-font-size': opts.minZoomedFontSize,
        'border-width': 0,
      },
    },
    {
      selector: 'node.you',
      style: { 'border-width': 3, 'border-color': '#ffffff', 'font-weight': 'bold', 'font-size': 13, 'z-index': 10 },
    },
    {
      selector: 'node:selected',
      style: { 'border-width': 4, 'border-color': '#f59e0b', 'z-index': 20, 'min-zoomed-font-size': 0 },
    },
    {
      selector: 'edge',
      style: {
        width: 'mapData(strength, 0, 1, 0.6, 3)',
        'line-color': '#c3cad8',
        opacity: opts.edgeOpacity ?? (opts.big ? 0.45 : 0.9),
        'curve-style': opts.big ? 'haystack' : 'bezier',
      },
    },
    { selector: 'edge.best', style: { 'line-color': '#4f46e5', width: 4, opacity: 1, 'z-index': 5 } },
    { selector: 'node.faded', style: { opacity: 0.25 } },
    { selector: 'edge.faded', style: { opacity: 0.08 } },
    { selector: '$node > node', style: {} },
    {
      selector: ':parent',
      style: {
        'background-opacity': 0.06,
        'background-color': 'data(color)',
        'border-color': 'data(color)',
        'border-width': 1,
        'border-opacity': 0.5,
        label: 'data(label)',
        'text-valign': 'top',
        'font-size': 14,
        'font-weight': 'bold',
        color: LABEL_COLOR,
        'min-zoomed-font-size': 0,
        shape: 'round-rectangle',
        padding: 12,
      },
    },
  ]
}
