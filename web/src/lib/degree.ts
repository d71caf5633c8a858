// Degree badges: how far someone is from you.

export function degreeLabel(degree: number | null | undefined, isYou = false): string {
  if (isYou || degree === 0) return 'You'
  switch (degree) {
    case 1:
      return '1st'
    case 2:
      return '2nd'
    case 3:
      return '3rd'
    default:
      return 'Not connected'
  }
}

export function degreeDescription(degree: number | null | undefined, isYou = false): string {
  if (isYou || degree === 0) return 'This is you'
  switch (degree) {
    case 1:
      return '1st degree: someone you know directly'
    case 2:
      return '2nd degree: a friend of a friend'
    case 3:
      return '3rd degree: three hops away'
    default:
      return 'Not connected to you within 3 hops'
  }
}

/** A CSS modifier for the badge colour. */
export function degreeClass(degree: number | null | undefined, isYou = false): string {
  if (isYou || degree === 0) return 'deg-you'
  if (degree === 1 || degree === 2 || degree === 3) return `deg-${degree}`
  return 'deg-none'
}

export function ordinal(n: number): string {
  const mod100 = n % 100
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`
  return `${n}${({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'}`
}
