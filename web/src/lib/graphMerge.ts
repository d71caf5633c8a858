// The explorer's graph: nodes and undirected edges, grown by expanding nodes without duplicates.
import type { GraphEdge, GraphNode, GraphOut } from './types'

export interface GraphState {
  center: number | null
  nodes: Map<number, GraphNode>
  /** Keyed by edgeKey(a, b): an edge is undirected. */
  edges: Map<string, GraphEdge>
  expanded: Set<number>
  truncated: boolean
}

export function emptyGraph(): GraphState {
  return { center: null, nodes: new Map(), edges: new Map(), expanded: new Set(), truncated: false }
}

export function edgeKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`
}

export interface MergeResult {
  addedNodes: GraphNode[]
  addedEdges: GraphEdge[]
}

/**
 * Merge a /v1/network/graph answer into `state` (mutating it). The first answer sets the centre. For a later
 * answer around another node, distances are re-based to the original centre: a new node's distance is at most
 * (distance of `around`) + (its distance from `around`); known nodes keep the smaller distance.
 * Self-loops and edges to unknown nodes are dropped; a repeated edge keeps the greater strength.
 */
export function mergeGraph(state: GraphState, incoming: GraphOut): MergeResult {
  const addedNodes: GraphNode[] = []
  const addedEdges: GraphEdge[] = []
  const first = state.center === null
  if (first) state.center = incoming.center
  const base = first ? 0 : (state.nodes.get(incoming.center)?.distance ?? 0)
  for (const node of incoming.nodes) {
    const distance = first ? node.distance : base + node.distance
    const known = state.nodes.get(node.id)
    if (known) {
      if (distance < known.distance) known.distance = distance
      continue
    }
    const fresh = { ...node, distance }
    state.nodes.set(node.id, fresh)
    addedNodes.push(fresh)
  }
  for (const edge of incoming.edges) {
    if (edge.source === edge.target) continue
    if (!state.nodes.has(edge.source) || !state.nodes.has(edge.target)) continue
    const key = edgeKey(edge.source, edge.target)
    const known = state.edges.get(key)
    if (known) {
      if (edge.strength > known.strength) known.strength = edge.strength
      continue
    }
    const fresh = { ...edge }
    state.edges.set(key, fresh)
    addedEdges.push(fresh)
  }
  state.expanded.add(incoming.center)
  state.truncated = state.truncated || incoming.truncated
  return { addedNodes, addedEdges }
}

/** Positions for a concentric layout: one ring per distance. The first ring is sorted by company then name,
 * so people of one company sit together; outer rings (when `edges` are given) follow the angle of the people
 * they know further in, so friends of friends sit behind their friends. Deterministic and O(n log n + edges):
 * fine for thousands of nodes. */
export function concentricPositions(
  nodes: Iterable<GraphNode>,
  center: number | null,
  ringGap = 220,
  minSpacing = 26,
  edges?: Iterable<GraphEdge>,
): Map<number, { x: number; y: number }> {
  const neighbours = new Map<number, number[]>()
  for (const e of edges ?? []) {
    if (!neighbours.has(e.source)) neighbours.set(e.source, [])
    if (!neighbours.has(e.target)) neighbours.set(e.target, [])
    neighbours.get(e.source)!.push(e.target)
    neighbours.get(e.target)!.push(e.source)
  }
  const rings = new Map<number, GraphNode[]>()
  for (const node of nodes) {
    const d = node.id === center ? 0 : Math.max(1, node.distance)
    if (!rings.has(d)) rings.set(d, [])
    rings.get(d)!.push(node)
  }
  const positions = new Map<number, { x: number; y: number }>()
  const targetAngle = new Map<number, number>()
  let radius = 0
  for (const d of [...rings.keys()].sort((a, b) => a - b)) {
    const byCompany = (a: GraphNode, b: GraphNode) =>
      (a.company ?? '\uffff').localeCompare(b.company ?? '\uffff') || (a.name ?? '').localeCompare(b.name ?? '') || a.id - b.id
    let ring = rings.get(d)!
    if (d >= 2 && neighbours.size) {
      // the mean direction of the already placed people each one knows (NaN when none: those go last)
      const angle = new Map<number, number>()
      for (const node of ring) {
        let sx = 0
        let sy = 0
        for (const other of neighbours.get(node.id) ?? []) {
          const p = positions.get(other)
          if (!p || (p.x === 0 && p.y === 0)) continue
          const len = Math.hypot(p.x, p.y)
          sx += p.x / len
          sy += p.y / len
        }
        // angles measured from the top, clockwise, to match how rings are filled
        angle.set(node.id, sx === 0 && sy === 0 ? Number.NaN : normalizeAngle(Math.atan2(sy, sx) + Math.PI / 2))
      }
      for (const [id, a] of angle) targetAngle.set(id, a)
      ring = ring.sort((a, b) => {
        const x = angle.get(a.id)!
        const y = angle.get(b.id)!
        if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1
        return (Number.isNaN(x) ? 0 : x - y) || byCompany(a, b)
      })
    } else {
      ring = ring.sort(byCompany)
    }
    if (d === 0 && ring.length === 1) {
      positions.set(ring[0].id, { x: 0, y: 0 })
      continue
    }
    // the ring must be long enough for its nodes, and outside the previous one
    radius = Math.max(radius + Math.max(ringGap, radius * 0.4), (ring.length * minSpacing) / (2 * Math.PI))
    // Outer rings: each person at the angle of those they know, pushed on just enough to keep `minSpacing`;
    // when that does not fit in one turn, evenly spaced in the same order.
    const targets = ring.map((node) => targetAngle.get(node.id) ?? Number.NaN)
    let angles: number[] | null = null
    if (targets.length && targets.every((t) => !Number.isNaN(t))) {
      const step = minSpacing / radius
      angles = []
      for (let i = 0; i < targets.length; i++) angles.push(i === 0 ? targets[0] : Math.max(targets[i], angles[i - 1] + step))
      if (angles[angles.length - 1] - angles[0] > 2 * Math.PI - step) angles = null
    }
    ring.forEach((node, i) => {
      const angle = (angles ? angles[i] : (2 * Math.PI * i) / ring.length) - Math.PI / 2
      positions.set(node.id, { x: radius * Math.cos(angle), y: radius * Math.sin(angle) })
    })
  }
  return positions
}

function normalizeAngle(a: number): number {
  const full = 2 * Math.PI
  return ((a % full) + full) % full
}

/** Positions clustered by company: each company (top ones first) gets a disc on a spiral; people without
 * a company, or at small companies, share an "others" disc. */
export function companyClusterPositions(
  nodes: Iterable<GraphNode>,
  groupOf: (node: GraphNode) => string,
  spacing = 28,
): Map<number, { x: number; y: number }> {
  const groups = new Map<string, GraphNode[]>()
  for (const node of nodes) {
    const g = groupOf(node)
    if (!groups.has(g)) groups.set(g, [])
    groups.get(g)!.push(node)
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
  const positions = new Map<number, { x: number; y: number }>()
  let placedRadius = 0
  let angle = 0
  ordered.forEach(([, members], gi) => {
    members.sort((a, b) => a.distance - b.distance || (a.name ?? '').localeCompare(b.name ?? '') || a.id - b.id)
    const discRadius = Math.sqrt(members.length) * spacing * 0.6 + spacing
    // centre of this group's disc: along a spiral, far enough out to not overlap the previous discs
    let cx = 0
    let cy = 0
    if (gi > 0) {
      placedRadius += discRadius * 0.9
      angle += (discRadius * 2.2) / Math.max(placedRadius, 1)
      cx = placedRadius * Math.cos(angle)
      cy = placedRadius * Math.sin(angle)
    } else {
      placedRadius = discRadius
    }
    // sunflower (Vogel) packing inside the disc
    members.forEach((node, i) => {
      const r = spacing * 0.6 * Math.sqrt(i)
      const t = i * 2.399963
      positions.set(node.id, { x: cx + r * Math.cos(t), y: cy + r * Math.sin(t) })
    })
  })
  return positions
}
