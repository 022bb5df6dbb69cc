// Kernel byte strings as the text the assertions carry: IPv4 dotted quads, IPv6 in RFC 5952's
// short form, hardware addresses as colon-hex.

/** `c0000202` → `"192.0.2.2"`; 16 bytes → `"2001:db8::2"`; other lengths as colon-hex. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) return formatIpv6(b);
  return formatLinkAddr(b);
}

function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of two or more zero words becomes `::` (the first such run on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return hex(words.slice(0, best)) + '::' + hex(words.slice(best + bestLen));
}

/** Hardware address bytes as `"aa:bb:cc:dd:ee:ff"` (empty string for none). */
export function formatLinkAddr(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}
