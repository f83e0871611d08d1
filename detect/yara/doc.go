// Package yara is a pure-Go YARA engine: rules are parsed with
// github.com/VirusTotal/gyp, compiled once into patterns and condition
// closures, and matched by this package alone, so exhunt stays one static
// binary for Linux and Windows (no cgo, no libyara).
//
// The reference is libyara 4.2, the version Debian ships: the oracle test
// (build tag yara_cgo) compares every rule, match offset and match length
// with libyara through go-yara on the shared corpus and on samples built
// from the rules' own strings, and the pe module field by field with
// `yara -D`. A rule the engine cannot evaluate exactly is not loaded; the
// Report says why. docs/yara.md lists what is supported.
//
// # Scanning
//
// Each string becomes one or more patterns (a literal per ascii, wide, xor
// key and base64 alignment; a byte-oriented program per regex or hex
// string), and each pattern contributes an atom: its best run of at most
// four bytes. A scan makes one pass over the data with a rolling 32-bit
// window of the last four bytes, ASCII-folded; for each position the
// window is hashed into a bitmap of all 4-byte atoms (one load, one test),
// and shorter atoms share a second bitmap indexed by the last two bytes.
// Only positions that pass look up an open-addressing table and verify the
// patterns behind the atom there. Patterns without any atom are run at
// every position whose byte can start a match.
//
// That is the anchored rare-n-gram scheme of detect/prefilter.go rather
// than an Aho-Corasick automaton. YARA's atoms are at most four bytes, so
// every atom is one machine word: the hashed bitmap answers "can an atom
// end here?" with one cache-resident load per byte, where an automaton
// over tens of thousands of atoms walks a transition table far larger than
// the cache. The set of candidate positions is the same either way.
//
// A regex's atom is the one libyara chooses (internal/re/yatoms.go), since
// its place decides results: libyara runs the regex forwards from the atom
// once and backwards to every start, tries the wide form only where the
// ascii form fails from the atom, and without an atom runs the regex from
// every offset. The key scanned for may extend libyara's atom with the
// characters the regex must continue with.
//
// Verification follows libyara's order of checks at an offset (ascii,
// wide, xor wide, xor), its fullword test, its 4096-byte regex window, its
// chaining at lazy jumps over 200 bytes, and one match per offset per
// string (the last found for a greedy regex, else the first). Identical string definitions in different rules share
// one match list, so signature-base's many repeated strings are searched
// and verified once. Nothing is allocated per candidate.
//
// # Conditions
//
// Conditions compile to typed closures with libyara's three-valued logic:
// undefined values (uint32 past the end, @s[n] past the last match, module
// fields of a non-PE file) make comparisons undefined, "not" keeps them
// undefined, and "and" and "or" treat them as false. A rule whose condition
// cannot be true unless one of its strings matched is skipped when none
// did, as libyara does with required strings.
//
// # Limits
//
// A string records at most MaxStringMatches matches (#s stops there, as in
// libyara); every match is kept when the condition reads offsets or
// lengths, otherwise only the first MaxReportedMatches, which is also how
// many a Match lists per string. ScanFile reads at most MaxScanSize bytes
// (DefaultMaxScanSize, 256 MiB) into one reused buffer and reports
// ErrTruncated beyond that. Rule evaluation panics are recovered per rule
// and returned as errors; loops stop after maxLoopSteps iterations.
package yara
