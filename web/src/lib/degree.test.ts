import { describe, expect, it } from 'vitest'
import { degreeClass, degreeDescription, degreeLabel, ordinal } from './degree'

describe('degree badges', () => {
  it('labels each degree', () => {
    expect(degreeLabel(0)).toBe('You')
    expect(degreeLabel(1)).toBe('1st')
    expect(degreeLabel(2)).toBe('2nd')
    expect(degreeLabel(3)).toBe('3rd')
    expect(degreeLabel(null)).toBe('Not connected')
    expect(degreeLabel(undefined)).toBe('Not connected')
    expect(degreeLabel(4)).toBe('Not connected')
  })

  it('says You for yourself whatever the degree', () => {
    expect(degreeLabel(null, true)).toBe('You')
    expect(degreeClass(null, true)).toBe('deg-you')
    expect(degreeDescription(1, true)).toMatch(/you/i)
  })

  it('has a class per degree', () => {
    expect([0, 1, 2, 3, null].map((d) => degreeClass(d))).toEqual(['deg-you', 'deg-1', 'deg-2', 'deg-3', 'deg-none'])
  })

  it('makes English ordinals', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(ordinal)).toEqual([
      '1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st', '111th',
    ])
  })
})
