#!/usr/bin/python3
"""Generates the Unicode lookup tables used by lib/jid (PRECIS, IDNA2008, NFC).

Run by meson at build time:
    gen_unicode.py UCD_DIR OUT_C OUT_H OUT_NORMTEST

Reads the Unicode Character Database text files in UCD_DIR (Debian's
unicode-data package: /usr/share/unicode) and writes:

  OUT_H, OUT_C   per-code-point properties in a two-stage table (PRECIS
                 derived property for IdentifierClass and FreeformClass per
                 RFC 8264 section 8, IDNA2008 derived property per RFC 5892
                 section 3, canonical combining class, bidi class, joining
                 type, the scripts the CONTEXTO rules need, flags), and the
                 mappings the runtime applies: toLowerCase (UnicodeData +
                 unconditional SpecialCasing), width mapping (<wide>/<narrow>),
                 full canonical and compatibility decompositions and the
                 canonical composition pairs.
  OUT_NORMTEST   NormalizationTest.txt decompressed (for the unit test), and
                 its path recorded in OUT_C.

Every derived property is computed here from the data files. In particular
HasCompat (RFC 8264 9.17) and Unstable (RFC 5892 2.2) use an NFKC written
below from UnicodeData.txt, not Python's unicodedata, whose Unicode version
differs from the installed data. The only hand-written code point lists are
the ones the RFCs themselves define as lists (Exceptions, BackwardCompatible,
the IgnorableBlocks names and the ASCII ranges).
"""

import bz2
import os
import sys

MAX_CP = 0x110000

# Hangul syllable constants (Unicode 15.0, section 3.12).
S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT

# RFC 5892 section 2.6, "Exceptions (F)", included by reference in RFC 8264
# section 9.6. The RFC defines this category as this literal list.
EXCEPTIONS = {}
for _cp in (0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007):
    EXCEPTIONS[_cp] = 'PVALID'
for _cp in (0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB):
    EXCEPTIONS[_cp] = 'CONTEXTO'
for _cp in list(range(0x0660, 0x066A)) + list(range(0x06F0, 0x06FA)):
    EXCEPTIONS[_cp] = 'CONTEXTO'
for _cp in (0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034,
            0x3035, 0x303B):
    EXCEPTIONS[_cp] = 'DISALLOWED'

# RFC 5892 section 2.7, "BackwardCompatible (G)": the empty set (RFC 8264
# section 9.7 notes it is still empty).
BACKWARD_COMPATIBLE = {}

# RFC 5892 section 2.4, "IgnorableBlocks (D)": defined by block name; the
# ranges come from Blocks.txt.
IGNORABLE_BLOCKS = ('Combining Diacritical Marks for Symbols',
                    'Musical Symbols', 'Ancient Greek Musical Notation')

DP = {'DISALLOWED': 0, 'PVALID': 1, 'CONTEXTJ': 2, 'CONTEXTO': 3,
      'UNASSIGNED': 4}

BIDI = ['L', 'R', 'AL', 'EN', 'ES', 'ET', 'AN', 'CS', 'NSM', 'BN', 'B', 'S',
        'WS', 'ON', 'LRE', 'LRO', 'RLE', 'RLO', 'PDF', 'LRI', 'RLI', 'FSI',
        'PDI']
JOINING = ['U', 'T', 'D', 'L', 'R', 'C']
SCRIPTS = ['OTHER', 'Greek', 'Hebrew', 'Hiragana', 'Katakana', 'Han']

FLAGS = ['ZS', 'CASED', 'CASE_IGNORABLE', 'LOWER', 'WIDTH', 'DECOMP',
         'KDECOMP', 'MARK', 'COMP_FIRST', 'COMP_SECOND', 'HANGUL_SYLLABLE']


def die(msg):
    sys.stderr.write('gen_unicode.py: %s\n' % msg)
    sys.exit(1)


def open_ucd(ucd, name):
    path = os.path.join(ucd, name)
    if not os.path.exists(path):
        die('missing %s: install the unicode-data package '
            '(apt-get install unicode-data)' % path)
    return open(path, encoding='utf-8')


def parse_range(field):
    field = field.strip()
    if '..' in field:
        a, b = field.split('..')
        return int(a, 16), int(b, 16)
    v = int(field, 16)
    return v, v


def read_property_file(ucd, name):
    """Yields (first, last, [fields...]) for each data line."""
    with open_ucd(ucd, name) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = [p.strip() for p in line.split(';')]
            first, last = parse_range(parts[0])
            yield first, last, parts[1:]


def read_binary_props(ucd, name, wanted):
    out = {w: set() for w in wanted}
    for first, last, fields in read_property_file(ucd, name):
        if fields[0] in out:
            out[fields[0]].update(range(first, last + 1))
    return out


class UCD:
    def __init__(self, path):
        self.ccc = {}
        self.decomp = {}        # cp -> (is_compat, [cps])
        self.decomp_tag = {}    # cp -> tag for compat decompositions
        self.lower_simple = {}
        self.assigned_names = {}
        with open_ucd(path, 'UnicodeData.txt') as f:
            range_first = None
            for line in f:
                fl = line.rstrip('\n').split(';')
                if len(fl) < 15:
                    continue
                cp = int(fl[0], 16)
                name = fl[1]
                if name.endswith(', First>'):
                    range_first = cp
                    continue
                if name.endswith(', Last>'):
                    cps = range(range_first, cp + 1)
                else:
                    cps = [cp]
                ccc = int(fl[3])
                for c in cps:
                    if ccc:
                        self.ccc[c] = ccc
                if fl[5]:
                    d = fl[5].split()
                    if d[0].startswith('<'):
                        self.decomp[cp] = (True, [int(x, 16) for x in d[1:]])
                        self.decomp_tag[cp] = d[0]
                    else:
                        self.decomp[cp] = (False, [int(x, 16) for x in d])
                if fl[13]:
                    self.lower_simple[cp] = int(fl[13], 16)

        self.gc = [None] * MAX_CP
        for first, last, fields in read_property_file(
                path, 'extracted/DerivedGeneralCategory.txt'):
            for c in range(first, last + 1):
                self.gc[c] = fields[0]
        for c in range(MAX_CP):
            if self.gc[c] is None:
                self.gc[c] = 'Cn'

        self.bidi = [None] * MAX_CP
        for first, last, fields in read_property_file(
                path, 'extracted/DerivedBidiClass.txt'):
            for c in range(first, last + 1):
                self.bidi[c] = fields[0]
        for c in range(MAX_CP):
            if self.bidi[c] is None:
                self.bidi[c] = 'L'  # the default for unlisted code points

        core = read_binary_props(path, 'DerivedCoreProperties.txt', (
            'Default_Ignorable_Code_Point', 'Cased', 'Case_Ignorable'))
        self.default_ignorable = core['Default_Ignorable_Code_Point']
        self.cased = core['Cased']
        self.case_ignorable = core['Case_Ignorable']

        plist = read_binary_props(path, 'PropList.txt', (
            'Noncharacter_Code_Point', 'Join_Control', 'White_Space'))
        self.noncharacter = plist['Noncharacter_Code_Point']
        self.join_control = plist['Join_Control']
        self.white_space = plist['White_Space']

        norm = read_binary_props(path, 'DerivedNormalizationProps.txt',
                                 ('Full_Composition_Exclusion',))
        self.comp_exclusion = norm['Full_Composition_Exclusion']

        self.old_hangul_jamo = set()
        for first, last, fields in read_property_file(
                path, 'HangulSyllableType.txt'):
            if fields[0] in ('L', 'V', 'T'):
                self.old_hangul_jamo.update(range(first, last + 1))

        self.script = {}
        for first, last, fields in read_property_file(path, 'Scripts.txt'):
            if fields[0] in SCRIPTS:
                for c in range(first, last + 1):
                    self.script[c] = fields[0]

        self.blocks = {}
        for first, last, fields in read_property_file(path, 'Blocks.txt'):
            self.blocks[fields[0]] = (first, last)
        self.ignorable_block = set()
        for name in IGNORABLE_BLOCKS:
            if name not in self.blocks:
                die('Blocks.txt lacks block %r' % name)
            first, last = self.blocks[name]
            self.ignorable_block.update(range(first, last + 1))

        # Joining_Type: explicit values from ArabicShaping.txt; code points
        # not listed there are T if their General_Category is Mn, Me or Cf,
        # else U (ArabicShaping.txt header, Unicode Standard section 9.2).
        self.joining = {}
        for first, last, fields in read_property_file(
                path, 'ArabicShaping.txt'):
            for c in range(first, last + 1):
                self.joining[c] = fields[1]

        # Full case folding (status C + F), used only for the IDNA2008
        # "Unstable" category (RFC 5892 section 2.2).
        self.casefold = {}
        for first, _, fields in read_property_file(path, 'CaseFolding.txt'):
            if fields[0] in ('C', 'F'):
                self.casefold[first] = [int(x, 16) for x in fields[1].split()]

        # toLowerCase: unconditional SpecialCasing.txt entries override the
        # simple mapping of UnicodeData.txt. Conditional entries (a fifth
        # field) are language- or context-specific; Final_Sigma is done at
        # run time, the language-specific ones do not apply to the default
        # (locale-independent) operation.
        self.lower_full = {}
        for first, _, fields in read_property_file(path, 'SpecialCasing.txt'):
            cond = fields[3] if len(fields) > 3 else ''
            if cond:
                continue
            self.lower_full[first] = [int(x, 16) for x in fields[0].split()]

        self.compose_pairs = {}
        for cp, (compat, d) in self.decomp.items():
            if compat or len(d) != 2 or cp in self.comp_exclusion:
                continue
            self.compose_pairs[(d[0], d[1])] = cp

        self._full = {}

    def joining_type(self, cp):
        if cp in self.joining:
            return self.joining[cp]
        if self.gc[cp] in ('Mn', 'Me', 'Cf'):
            return 'T'
        return 'U'

    def full_decomp(self, cp, compat):
        key = (cp, compat)
        if key in self._full:
            return self._full[key]
        if S_BASE <= cp < S_BASE + S_COUNT:
            s = cp - S_BASE
            r = [L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT]
            if s % T_COUNT:
                r.append(T_BASE + s % T_COUNT)
        elif cp in self.decomp and (compat or not self.decomp[cp][0]):
            r = []
            for c in self.decomp[cp][1]:
                r.extend(self.full_decomp(c, compat))
        else:
            r = [cp]
        self._full[key] = r
        return r

    def compose_one(self, a, b):
        if L_BASE <= a < L_BASE + L_COUNT and V_BASE <= b < V_BASE + V_COUNT:
            return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT
        if (S_BASE <= a < S_BASE + S_COUNT and (a - S_BASE) % T_COUNT == 0
                and T_BASE < b < T_BASE + T_COUNT):
            return a + (b - T_BASE)
        return self.compose_pairs.get((a, b))

    def normalize(self, cps, compat):
        d = []
        for c in cps:
            d.extend(self.full_decomp(c, compat))
        # Canonical ordering: stable sort of each run of non-starters.
        i = 0
        while i < len(d):
            if self.ccc.get(d[i], 0) == 0:
                i += 1
                continue
            j = i
            while j < len(d) and self.ccc.get(d[j], 0) != 0:
                j += 1
            d[i:j] = sorted(d[i:j], key=lambda c: self.ccc.get(c, 0))
            i = j
        if not d:
            return d
        # Canonical composition (UAX #15 section 1.3).
        out = [d[0]]
        starter = 0 if self.ccc.get(d[0], 0) == 0 else None
        last_ccc = 0 if starter == 0 else 256
        for c in d[1:]:
            cc = self.ccc.get(c, 0)
            if starter is not None and (last_ccc < cc or last_ccc == 0):
                comp = self.compose_one(out[starter], c)
                if comp is not None:
                    out[starter] = comp
                    continue
            if cc == 0:
                starter = len(out)
            last_ccc = cc
            out.append(c)
        return out

    def nfkc(self, cps):
        return self.normalize(cps, True)

    def has_compat(self, cp):
        # RFC 8264 section 9.17: toNFKC(cp) != cp. A code point without a
        # decomposition mapping is its own NFKC (composition needs two).
        if cp not in self.decomp:
            return False
        return self.nfkc([cp]) != [cp]

    def unstable(self, cp):
        # RFC 5892 section 2.2: toNFKC(toCaseFold(toNFKC(cp))) != cp.
        if cp not in self.decomp and cp not in self.casefold:
            return False
        s = self.nfkc([cp])
        f = []
        for c in s:
            f.extend(self.casefold.get(c, [c]))
        return self.nfkc(f) != [cp]

    def unassigned(self, cp):
        return self.gc[cp] == 'Cn' and cp not in self.noncharacter

    def precis_property(self, cp, freeform):
        """RFC 8264 section 8 (identical order; must not be changed)."""
        gc = self.gc[cp]
        if cp in EXCEPTIONS:
            return EXCEPTIONS[cp]
        if cp in BACKWARD_COMPATIBLE:
            return BACKWARD_COMPATIBLE[cp]
        if self.unassigned(cp):
            return 'UNASSIGNED'
        if 0x21 <= cp <= 0x7E:                      # ASCII7 (K)
            return 'PVALID'
        if cp in self.join_control:
            return 'CONTEXTJ'
        if cp in self.old_hangul_jamo:
            return 'DISALLOWED'
        if cp in self.default_ignorable or cp in self.noncharacter:
            return 'DISALLOWED'                     # PrecisIgnorable (M)
        if gc == 'Cc':                              # Controls (L)
            return 'DISALLOWED'
        if self.has_compat(cp):                     # HasCompat (Q)
            return 'PVALID' if freeform else 'DISALLOWED'
        if gc in ('Ll', 'Lu', 'Lo', 'Nd', 'Lm', 'Mn', 'Mc'):
            return 'PVALID'                         # LetterDigits (A)
        if gc in ('Lt', 'Nl', 'No', 'Me',           # OtherLetterDigits (R)
                  'Zs',                             # Spaces (N)
                  'Sm', 'Sc', 'Sk', 'So',           # Symbols (O)
                  'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po'):  # Punct. (P)
            return 'PVALID' if freeform else 'DISALLOWED'
        return 'DISALLOWED'

    def idna_property(self, cp):
        """RFC 5892 section 3 (same order)."""
        gc = self.gc[cp]
        if cp in EXCEPTIONS:
            return EXCEPTIONS[cp]
        if cp in BACKWARD_COMPATIBLE:
            return BACKWARD_COMPATIBLE[cp]
        if self.unassigned(cp):
            return 'UNASSIGNED'
        if cp == 0x2D or 0x30 <= cp <= 0x39 or 0x61 <= cp <= 0x7A:
            return 'PVALID'                         # LDH (E)
        if cp in self.join_control:
            return 'CONTEXTJ'
        if self.unstable(cp):
            return 'DISALLOWED'
        if (cp in self.default_ignorable or cp in self.white_space
                or cp in self.noncharacter):
            return 'DISALLOWED'                     # IgnorableProperties (C)
        if cp in self.ignorable_block:
            return 'DISALLOWED'
        if cp in self.old_hangul_jamo:
            return 'DISALLOWED'
        if gc in ('Ll', 'Lu', 'Lo', 'Nd', 'Lm', 'Mn', 'Mc'):
            return 'PVALID'
        return 'DISALLOWED'


def two_stage(values, shift):
    """Splits values (one per code point) into (stage1, stage2) blocks."""
    size = 1 << shift
    blocks = {}
    stage1 = []
    stage2 = []
    for start in range(0, len(values), size):
        block = tuple(values[start:start + size])
        if block not in blocks:
            blocks[block] = len(blocks)
            stage2.extend(block)
        stage1.append(blocks[block])
    return stage1, stage2


def c_array(ctype, name, values, per_line=12, fmt='%d'):
    lines = ['const %s %s[%d] = {' % (ctype, name, len(values))]
    for i in range(0, len(values), per_line):
        lines.append('    ' + ', '.join(fmt % v
                                        for v in values[i:i + per_line]) + ',')
    lines.append('};')
    return '\n'.join(lines) + '\n'


def main():
    if len(sys.argv) != 5:
        die('usage: gen_unicode.py UCD_DIR OUT_C OUT_H OUT_NORMTEST')
    ucd_dir, out_c, out_h, out_nt = sys.argv[1:]
    u = UCD(ucd_dir)

    # Mappings applied at run time.
    lower = {}
    for cp in range(MAX_CP):
        if cp in u.lower_full:
            m = u.lower_full[cp]
        elif cp in u.lower_simple:
            m = [u.lower_simple[cp]]
        else:
            continue
        if m != [cp]:
            lower[cp] = m
    width = {}
    for cp, tag in u.decomp_tag.items():
        if tag in ('<wide>', '<narrow>'):
            d = u.decomp[cp][1]
            if len(d) != 1:
                die('width mapping of %04X is not one code point' % cp)
            width[cp] = d[0]
    cdecomp = {}
    kdecomp = {}
    for cp in u.decomp:
        c = u.full_decomp(cp, False)
        k = u.full_decomp(cp, True)
        if c != [cp]:
            cdecomp[cp] = c
        if k != c:
            kdecomp[cp] = k
    comp_first = set(a for a, _ in u.compose_pairs)
    comp_second = set(b for _, b in u.compose_pairs)

    records = {}
    record_list = []
    per_cp = []
    for cp in range(MAX_CP):
        gc = u.gc[cp]
        flags = 0
        if gc == 'Zs':
            flags |= 1 << FLAGS.index('ZS')
        if cp in u.cased:
            flags |= 1 << FLAGS.index('CASED')
        if cp in u.case_ignorable:
            flags |= 1 << FLAGS.index('CASE_IGNORABLE')
        if cp in lower:
            flags |= 1 << FLAGS.index('LOWER')
        if cp in width:
            flags |= 1 << FLAGS.index('WIDTH')
        if cp in cdecomp and not (S_BASE <= cp < S_BASE + S_COUNT):
            flags |= 1 << FLAGS.index('DECOMP')
        if cp in kdecomp:
            flags |= 1 << FLAGS.index('KDECOMP')
        if gc in ('Mn', 'Mc', 'Me'):
            flags |= 1 << FLAGS.index('MARK')
        if cp in comp_first:
            flags |= 1 << FLAGS.index('COMP_FIRST')
        if cp in comp_second:
            flags |= 1 << FLAGS.index('COMP_SECOND')
        if S_BASE <= cp < S_BASE + S_COUNT:
            flags |= 1 << FLAGS.index('HANGUL_SYLLABLE')
        rec = (DP[u.precis_property(cp, False)]
               | (DP[u.precis_property(cp, True)] << 4),
               DP[u.idna_property(cp)],
               u.ccc.get(cp, 0),
               BIDI.index(u.bidi[cp]),
               JOINING.index(u.joining_type(cp)),
               SCRIPTS.index(u.script.get(cp, 'OTHER')),
               flags)
        if rec not in records:
            records[rec] = len(record_list)
            record_list.append(rec)
        per_cp.append(records[rec])

    best = None
    for shift in (5, 6, 7, 8):
        s1, s2 = two_stage(per_cp, shift)
        cost = len(s1) * 2 + len(s2) * 2
        if best is None or cost < best[0]:
            best = (cost, shift, s1, s2)
    _, shift, stage1, stage2 = best
    if len(record_list) > 65535 or max(stage1) * (1 << shift) > 0xFFFFFFFF:
        die('table too large')

    pool = []

    def add_map(mapping):
        rows = []
        for cp in sorted(mapping):
            m = mapping[cp]
            rows.append((cp, len(pool), len(m)))
            pool.extend(m)
        return rows

    lower_rows = add_map(lower)
    cdecomp_rows = add_map(cdecomp)
    kdecomp_rows = add_map(kdecomp)
    if len(pool) > 65535:
        die('mapping pool too large')
    width_rows = sorted(width.items())
    pairs = sorted((a, b, c) for (a, b), c in u.compose_pairs.items())

    with open(out_nt, 'wb') as f, bz2.open(
            os.path.join(ucd_dir, 'NormalizationTest.txt.bz2'), 'rb') as src:
        f.write(src.read())

    h = []
    h.append('/* Generated by lib/jid/gen_unicode.py from the Unicode Character'
             '\n * Database; do not edit. */')
    h.append('#ifndef XI_UNICODE_DATA_H\n#define XI_UNICODE_DATA_H\n')
    h.append('#include <stddef.h>\n#include <stdint.h>\n')
    h.append('/* Derived property values (RFC 8264 section 8, RFC 5892 section '
             '3). */')
    for k, v in DP.items():
        h.append('#define XI_DP_%s %d' % (k, v))
    h.append('')
    for i, b in enumerate(BIDI):
        h.append('#define XI_BIDI_%s %d' % (b, i))
    h.append('')
    for i, j in enumerate(JOINING):
        h.append('#define XI_JT_%s %d' % (j, i))
    h.append('')
    for i, s in enumerate(SCRIPTS):
        h.append('#define XI_SC_%s %d' % (s.upper(), i))
    h.append('')
    for i, fl in enumerate(FLAGS):
        h.append('#define XI_UF_%s 0x%04x' % (fl, 1 << i))
    h.append('')
    h.append('#define XI_UPROP_SHIFT %d' % shift)
    h.append('''
/* One distinct combination of properties; code points index these. */
struct xi_uprop {
    uint8_t precis; /* low nibble IdentifierClass, high nibble FreeformClass */
    uint8_t idna;   /* RFC 5892 derived property */
    uint8_t ccc;    /* Canonical_Combining_Class */
    uint8_t bidi;   /* Bidi_Class (XI_BIDI_...) */
    uint8_t jt;     /* Joining_Type (XI_JT_...) */
    uint8_t script; /* XI_SC_... (only the scripts CONTEXTO rules name) */
    uint16_t flags; /* XI_UF_... */
};

/* A mapping from one code point to len code points at xi_umap_pool[off]. */
struct xi_umap {
    uint32_t cp;
    uint16_t off;
    uint16_t len;
};

struct xi_upair {
    uint32_t a, b; /* maps to */
    uint32_t to;
};

extern const struct xi_uprop xi_uprop_records[];
extern const uint16_t xi_uprop_stage1[];
extern const uint16_t xi_uprop_stage2[];
extern const uint32_t xi_umap_pool[];
extern const struct xi_umap xi_umap_lower[];
extern const size_t xi_umap_lower_len;
extern const struct xi_umap xi_umap_cdecomp[];
extern const size_t xi_umap_cdecomp_len;
extern const struct xi_umap xi_umap_kdecomp[];
extern const size_t xi_umap_kdecomp_len;
extern const uint32_t xi_umap_width[][2];
extern const size_t xi_umap_width_len;
extern const struct xi_upair xi_ucompose[];
extern const size_t xi_ucompose_len;
/* Path of the decompressed NormalizationTest.txt in the build tree. */
extern const char xi_unicode_normtest_path[];

/* Properties of cp; anything above U+10FFFF reads as U+10FFFF (a
 * noncharacter, DISALLOWED everywhere). */
static inline const struct xi_uprop *xi_uprop_get(uint32_t cp)
{
    if (cp > 0x10FFFF)
        cp = 0x10FFFF;
    uint32_t block = xi_uprop_stage1[cp >> XI_UPROP_SHIFT];
    return &xi_uprop_records[xi_uprop_stage2[(block << XI_UPROP_SHIFT) |
                                             (cp & ((1u << XI_UPROP_SHIFT) - 1))]];
}

#endif''')

    c = []
    c.append('/* Generated by lib/jid/gen_unicode.py from the Unicode Character'
             '\n * Database; do not edit. */')
    c.append('#include "jid/unicode_data.h"\n')
    c.append('const struct xi_uprop xi_uprop_records[%d] = {' % len(record_list))
    for r in record_list:
        c.append('    {%d, %d, %d, %d, %d, %d, 0x%04x},' % r)
    c.append('};\n')
    c.append(c_array('uint16_t', 'xi_uprop_stage1', stage1))
    c.append(c_array('uint16_t', 'xi_uprop_stage2', stage2, per_line=16))
    c.append(c_array('uint32_t', 'xi_umap_pool', pool, per_line=10,
                     fmt='0x%04X'))
    for name, rows in (('lower', lower_rows), ('cdecomp', cdecomp_rows),
                       ('kdecomp', kdecomp_rows)):
        c.append('const struct xi_umap xi_umap_%s[%d] = {' % (name, len(rows)))
        for r in rows:
            c.append('    {0x%04X, %d, %d},' % r)
        c.append('};')
        c.append('const size_t xi_umap_%s_len = %d;\n' % (name, len(rows)))
    c.append('const uint32_t xi_umap_width[%d][2] = {' % len(width_rows))
    for a, b in width_rows:
        c.append('    {0x%04X, 0x%04X},' % (a, b))
    c.append('};')
    c.append('const size_t xi_umap_width_len = %d;\n' % len(width_rows))
    c.append('const struct xi_upair xi_ucompose[%d] = {' % len(pairs))
    for a, b, t in pairs:
        c.append('    {0x%04X, 0x%04X, 0x%04X},' % (a, b, t))
    c.append('};')
    c.append('const size_t xi_ucompose_len = %d;\n' % len(pairs))
    path = os.path.abspath(out_nt).replace('\\', '\\\\').replace('"', '\\"')
    c.append('const char xi_unicode_normtest_path[] = "%s";' % path)

    with open(out_h, 'w') as f:
        f.write('\n'.join(h) + '\n')
    with open(out_c, 'w') as f:
        f.write('\n'.join(c) + '\n')


if __name__ == '__main__':
    main()
