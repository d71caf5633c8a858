import { describe, expect, it } from 'vitest'
import { companyColors, companyKey, OTHER_COLOR, PALETTE } from './colors'

describe('companyColors', () => {
  const people = ['Acme', 'Acme', 'Acme', 'Globex', 'Globex', 'Initech', 'Initech', null, '', 'Solo Ltd']

  it('lists the top companies by count in the legend, others grey', () => {
    const c = companyColors(people, 2)
    expect(c.legend.map((l) => [l.company, l.count])).toEqual([
      ['Acme', 3],
      ['Globex', 2],
    ])
    expect(c.colorFor('Initech')).toBe(OTHER_COLOR)
    expect(c.colorFor(null)).toBe(OTHER_COLOR)
    expect(c.others).toBe(5)
  })

  it('gives each legend company a distinct palette colour', () => {
    const many = Array.from({ length: 12 }, (_, i) => [`Co ${i}`, `Co ${i}`]).flat()
    const c = companyColors(many, 12)
    const colours = c.legend.map((l) => l.color)
    expect(new Set(colours).size).toBe(12)
    for (const col of colours) expect(PALETTE).toContain(col)
  })

  it('keeps colours stable across input order, case and spacing', () => {
    const a = companyColors(people, 3)
    const b = companyColors([...people].reverse(), 3)
    expect(a.colorFor('Acme')).toBe(b.colorFor('Acme'))
    expect(a.colorFor('Globex')).toBe(b.colorFor('globex '))
    expect(a.colorFor('  ACME ')).toBe(a.colorFor('Acme'))
  })

  it('keeps a company colour when the graph grows with new small companies', () => {
    const before = companyColors(people, 5)
    const after = companyColors([...people, 'Newco', 'Other'], 5)
    expect(after.colorFor('Acme')).toBe(before.colorFor('Acme'))
    expect(after.colorFor('Globex')).toBe(before.colorFor('Globex'))
  })

  it('normalises company keys', () => {
    expect(companyKey('  Acme   Corp ')).toBe('acme corp')
    expect(companyKey(undefined)).toBe('')
  })
})
