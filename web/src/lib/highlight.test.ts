import { describe, expect, it } from 'vitest'
import { highlightSegments, normalizeRanges } from './highlight'

describe('highlightSegments', () => {
  it('splits text into plain and matched parts', () => {
    expect(highlightSegments('Ada Lovelace', [[0, 3]])).toEqual([
      { text: 'Ada', match: true },
      { text: ' Lovelace', match: false },
    ])
  })

  it('handles several ranges given out of order', () => {
    const segs = highlightSegments('Grace Brewster Hopper', [[15, 21], [0, 5]])
    expect(segs.map((s) => (s.match ? `[${s.text}]` : s.text)).join('')).toBe('[Grace] Brewster [Hopper]')
  })

  it('merges overlapping and touching ranges', () => {
    expect(normalizeRanges([[2, 5], [0, 3], [5, 7]], 10)).toEqual([[0, 7]])
    expect(highlightSegments('abcdefgh', [[0, 3], [2, 5]])).toEqual([
      { text: 'abcde', match: true },
      { text: 'fgh', match: false },
    ])
  })

  it('clamps ranges to the text and drops empty or invalid ones', () => {
    expect(highlightSegments('abc', [[-2, 1], [2, 99], [1, 1], [5, 9]])).toEqual([
      { text: 'a', match: true },
      { text: 'b', match: false },
      { text: 'c', match: true },
    ])
  })

  it('counts code points like the server (astral characters are one)', () => {
    // "😀 Zoë": the emoji is one character for Python, two UTF-16 units for JS
    expect(highlightSegments('😀 Zoë', [[2, 5]])).toEqual([
      { text: '😀 ', match: false },
      { text: 'Zoë', match: true },
    ])
  })

  it('returns the whole text unmarked without ranges, nothing for empty text', () => {
    expect(highlightSegments('Ada', undefined)).toEqual([{ text: 'Ada', match: false }])
    expect(highlightSegments('', [[0, 1]])).toEqual([])
    expect(highlightSegments(null, [[0, 1]])).toEqual([])
  })
})
