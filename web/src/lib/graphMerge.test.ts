import { describe, expect, it } from 'vitest'
import { companyClusterPositions, concentricPositions, edgeKey, emptyGraph, mergeGraph } from './graphMerge'
import type { GraphOut } from './types'

const n = (id: number, distance: number, company: string | null = null) => ({ id, name: `P${id}`, company, title: null, distance })

const ego: GraphOut = {
  center: 1,
  nodes: [n(1, 0), n(2, 1, 'Acme'), n(3, 1, 'Acme'), n(4, 2, 'Globex')],
  edges: [
    { source: 1, target: 2, strength: 0.5 },
    { source: 1, target: 3, strength: 0.4 },
    { source: 3, target: 4, strength: 0.3 },
  ],
  truncated: false,
}

describe('mergeGraph', () => {
  it('loads the first answer as is', () => {
    const g = emptyGraph()
    const r = mergeGraph(g, ego)
    expect(g.center).toBe(1)
    expect(g.nodes.size).toBe(4)
    expect(g.edges.size).toBe(3)
    expect(r.addedNodes).toHaveLength(4)
    expect(r.addedEdges).toHaveLength(3)
  })

  it('adds only new neighbours and edges when a node is expanded', () => {
    const g = emptyGraph()
    mergeGraph(g, ego)
    const around4: GraphOut = {
      center: 4,
      nodes: [n(4, 0, 'Globex'), n(3, 1, 'Acme'), n(5, 1), n(6, 1)],
      // the same edge in the other direction, a new edge between known nodes, a self-loop, an edge to nowhere
      edges: [
        { source: 4, target: 3, strength: 0.9 },
        { source: 4, target: 5, strength: 0.2 },
        { source: 4, target: 6, strength: 0.2 },
        { source: 5, target: 6, strength: 0.1 },
        { source: 6, target: 6, strength: 1 },
        { source: 6, target: 99, strength: 1 },
      ],
      truncated: false,
    }
    const r = mergeGraph(g, around4)
    expect(r.addedNodes.map((x) => x.id)).toEqual([5, 6])
    expect(r.addedEdges.map((e) => edgeKey(e.source, e.target))).toEqual(['4-5', '4-6', '5-6'])
    expect(g.nodes.size).toBe(6)
    expect(g.edges.size).toBe(6)
    // distances stay relative to the original centre
    expect(g.nodes.get(5)!.distance).toBe(3)
    expect(g.nodes.get(3)!.distance).toBe(1)
    expect(g.nodes.get(4)!.distance).toBe(2)
    // the stronger evidence wins for a repeated edge
    expect(g.edges.get('3-4')!.strength).toBe(0.9)
    expect(g.expanded.has(4)).toBe(true)
    // expanding again adds nothing
    const again = mergeGraph(g, around4)
    expect(again.addedNodes).toHaveLength(0)
    expect(again.addedEdges).toHaveLength(0)
  })

  it('lowers a distance when a shorter route appears and remembers truncation', () => {
    const g = emptyGraph()
    mergeGraph(g, ego)
    mergeGraph(g, { center: 2, nodes: [n(2, 0), n(4, 1)], edges: [{ source: 2, target: 4, strength: 0.1 }], truncated: true })
    expect(g.nodes.get(4)!.distance).toBe(2)
    expect(g.truncated).toBe(true)
  })

  it('makes undirected edge keys', () => {
    expect(edgeKey(9, 2)).toBe(edgeKey(2, 9))
  })
})

describe('layouts', () => {
  it('puts the centre in the middle and rings by distance', () => {
    const pos = concentricPositions(ego.nodes, 1, 100)
    expect(pos.get(1)).toEqual({ x: 0, y: 0 })
    const r = (id: number) => Math.hypot(pos.get(id)!.x, pos.get(id)!.y)
    expect(r(2)).toBeCloseTo(100)
    expect(r(3)).toBeCloseTo(100)
    expect(r(4)).toBeGreaterThan(r(2))
  })

  it('is deterministic whatever the input order', () => {
    const a = concentricPositions(ego.nodes, 1)
    const b = concentricPositions([...ego.nodes].reverse(), 1)
    for (const node of ego.nodes) expect(a.get(node.id)).toEqual(b.get(node.id))
  })

  it('widens rings that hold many nodes', () => {
    const many = [n(1, 0), ...Array.from({ length: 1000 }, (_, i) => n(i + 2, 1))]
    const pos = concentricPositions(many, 1, 100, 20)
    const p = pos.get(500)!
    expect(Math.hypot(p.x, p.y)).toBeGreaterThan((1000 * 20) / (2 * Math.PI) - 1)
  })

  it('clusters by company: members of a company sit closer to each other than to others', () => {
    const nodes = [
      ...Array.from({ length: 20 }, (_, i) => n(i, 1, 'Acme')),
      ...Array.from({ length: 20 }, (_, i) => n(100 + i, 1, 'Globex')),
    ]
    const pos = companyClusterPositions(nodes, (x) => x.company ?? '')
    const centroid = (ids: number[]) => {
      const ps = ids.map((i) => pos.get(i)!)
      return { x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length }
    }
    const a = centroid(nodes.slice(0, 20).map((x) => x.id))
    const b = centroid(nodes.slice(20).map((x) => x.id))
    const spread = Math.max(...nodes.slice(0, 20).map((x) => Math.hypot(pos.get(x.id)!.x - a.x, pos.get(x.id)!.y - a.y)))
    expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThan(spread)
    expect(pos.size).toBe(40)
  })
})

describe('concentric layout with edges', () => {
  it('puts friends of friends behind the friend they know', () => {
    // you (1) know 2..9 on ring 1; 20 knows only 2, 30 knows only 6 (opposite side)
    const nodes = [n(1, 0), ...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => n(i, 1)), n(20, 2), n(30, 2)]
    const edges = [...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => ({ source: 1, target: i, strength: 1 })),
      { source: 20, target: 2, strength: 1 }, { source: 6, target: 30, strength: 1 }]
    const pos = concentricPositions(nodes, 1, 100, 10, edges)
    const angle = (id: number) => Math.atan2(pos.get(id)!.y, pos.get(id)!.x)
    const gap = (a: number, b: number) => {
      const d = Math.abs(angle(a) - angle(b)) % (2 * Math.PI)
      return Math.min(d, 2 * Math.PI - d)
    }
    expect(gap(20, 2)).toBeLessThan(gap(20, 6))
    expect(gap(30, 6)).toBeLessThan(gap(30, 2))
  })
})
