// The source identity of an imgshield request, for the edge's consistent hash (njs, Debian's
// libnginx-mod-http-js). nginx/imgshield.conf routes on `$imgshield_source`, set by `key` below, so
// every URL of one photo (its widths, formats, presets, parameter orders, its /info, and every
// spelling of its src) reaches one replica, whose source and derivative caches then serve it.
//
// It follows imgshield's own reading of `src` step by step (src/params/query.rs and source.rs):
//   1. the query is split on `&` and decoded as application/x-www-form-urlencoded (`+` is a space,
//      `%XX` a byte, names too: `%73rc=` is `src=`), then made UTF-8 the lossy way (each invalid
//      sequence becomes U+FFFD), as the Rust form_urlencoded crate does;
//   2. a value whose text before its first `:` is a scheme is a URL, read as the WHATWG URL
//      standard (the url crate) reads it: tabs and newlines dropped, C0 and spaces trimmed, scheme
//      and host lowercased, `\` as `/`, any number of slashes after `http:`, the host percent-
//      decoded, IPv4 in any of its notations (0x7f.1, 2130706433) as a dotted quad, the default
//      port dropped, `.`/`..` segments (also as %2e) resolved, the characters the URL standard
//      escapes escaped, the fragment dropped;
//   3. anything else is a path below --root: empty and `.` segments dropped.
// The key may be coarser than imgshield's identity, never finer: two spellings imgshield reads as
// one source always give one key. Where this stops short of the url crate it says so below, and
// docs/EDGE.md lists what that costs. A request without a usable src (/text, or a src imgshield
// refuses) hashes on its whole URI.

var HEX = '0123456789ABCDEF';

function hexValue(b) {
    if (b >= 0x30 && b <= 0x39) return b - 0x30;
    if (b >= 0x41 && b <= 0x46) return b - 0x37;
    if (b >= 0x61 && b <= 0x66) return b - 0x57;
    return -1;
}

// Bytes [from, to) of `raw` with `%XX` decoded (and `+` as a space when `plus`); a `%` not
// followed by two hex digits stays as it is.
function percentDecode(raw, from, to, plus) {
    var out = [];
    for (var i = from; i < to; i++) {
        var b = raw[i];
        if (b === 0x25 && i + 2 < to && hexValue(raw[i + 1]) >= 0 && hexValue(raw[i + 2]) >= 0) {
            out.push(hexValue(raw[i + 1]) * 16 + hexValue(raw[i + 2]));
            i += 2;
        } else if (b === 0x2b && plus) {
            out.push(0x20);
        } else {
            out.push(b);
        }
    }
    return out;
}

// UTF-8 with every invalid sequence replaced by U+FFFD (EF BF BD), one per maximal subpart, as
// Rust's String::from_utf8_lossy does; valid sequences are kept byte for byte.
function lossyUtf8(bytes) {
    var out = [];
    var i = 0;
    while (i < bytes.length) {
        var b = bytes[i];
        if (b < 0x80) {
            out.push(b);
            i++;
            continue;
        }
        var need = 0, lo = 0x80, hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) need = 1;
        else if (b >= 0xe0 && b <= 0xef) {
            need = 2;
            if (b === 0xe0) lo = 0xa0;
            if (b === 0xed) hi = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 3;
            if (b === 0xf0) lo = 0x90;
            if (b === 0xf4) hi = 0x8f;
        }
        var j = i + 1;
        var ok = need > 0;
        for (var k = 0; ok && k < need; k++, j++) {
            var c = bytes[j];
            var min = k === 0 ? lo : 0x80, max = k === 0 ? hi : 0xbf;
            if (c === undefined || c < min || c > max) ok = false;
        }
        if (ok) {
            for (var m = i; m < j; m++) out.push(bytes[m]);
            i = j;
        } else {
            out.push(0xef, 0xbf, 0xbd);
            // One U+FFFD per maximal subpart: the lead byte and the continuation bytes before the
            // first invalid one (the loop above stepped past that one), or a lone invalid byte.
            i = need > 0 ? j - 1 : j;
        }
    }
    return out;
}

// The first `src` of a raw query string (Buffer), decoded; null without one. imgshield refuses a
// repeated src, so which of several is taken does not matter.
function srcValue(raw) {
    var start = 0;
    for (var i = 0; i <= raw.length; i++) {
        if (i < raw.length && raw[i] !== 0x26) continue;
        if (i > start) {
            var eq = start;
            while (eq < i && raw[eq] !== 0x3d) eq++;
            var name = percentDecode(raw, start, eq, true);
            if (name.length === 3 && name[0] === 0x73 && name[1] === 0x72 && name[2] === 0x63) {
                return lossyUtf8(percentDecode(raw, eq < i ? eq + 1 : i, i, true));
            }
        }
        start = i + 1;
    }
    return null;
}

function isAlpha(b) {
    return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

function isDigit(b) {
    return b >= 0x30 && b <= 0x39;
}

function lower(b) {
    return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

function text(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
}

// Appends `b` to `out` as the url crate writes it into a path (`inQuery` false) or a special
// URL's query: C0 controls, space, DEL, non-ASCII and the set's own characters as %XX.
function pushEscaped(out, b, inQuery) {
    var escape = b <= 0x20 || b >= 0x7f || b === 0x22 || b === 0x3c || b === 0x3e || b === 0x23 ||
        (inQuery ? b === 0x27 : (b === 0x3f || b === 0x60 || b === 0x7b || b === 0x7d));
    if (escape) out.push(0x25, HEX.charCodeAt(b >> 4), HEX.charCodeAt(b & 15));
    else out.push(b);
}

// A WHATWG IPv4 number (decimal, 0x hex, 0 octal); -1 if it is not one, Infinity past 2^32-1.
function ipv4Number(s) {
    if (s === '') return -1;
    var radix = 10;
    if (s.length >= 2 && (s.slice(0, 2) === '0x' || s.slice(0, 2) === '0X')) {
        s = s.slice(2);
        radix = 16;
    } else if (s.length >= 2 && s.charAt(0) === '0') {
        s = s.slice(1);
        radix = 8;
    }
    if (s === '') return 0;
    var valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
    if (!valid.test(s)) return -1;
    var n = parseInt(s, radix);
    return n > 4294967295 ? Infinity : n;
}

function endsInNumber(host) {
    var parts = host.split('.');
    var last = parts[parts.length - 1];
    if (last === '') {
        if (parts.length === 1) return false;
        last = parts[parts.length - 2];
    }
    return /^[0-9]+$/.test(last) || ipv4Number(last) >= 0;
}

// The dotted quad of an IPv4 host in any notation; null where the url crate refuses it.
function ipv4(host) {
    var parts = host.split('.');
    if (parts[parts.length - 1] === '') parts.pop();
    if (parts.length > 4 || parts.length === 0) return null;
    var numbers = [];
    for (var i = 0; i < parts.length; i++) {
        var n = ipv4Number(parts[i]);
        if (n < 0 || n === Infinity) return null;
        numbers.push(n);
    }
    var last = numbers.pop();
    if (last >= Math.pow(256, 4 - numbers.length)) return null;
    var value = last;
    for (var k = 0; k < numbers.length; k++) {
        if (numbers[k] > 255) return null;
        value += numbers[k] * Math.pow(256, 3 - k);
    }
    return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

// The host as the url crate serialises it, or a stand-in shared by every spelling of a kind this
// does not normalise (see docs/EDGE.md): `[v6]` for IPv6 literals, `~idn` for internationalised
// names (any non-ASCII byte, or a label that starts `xn--`). null where imgshield refuses it.
function hostKey(raw) {
    if (raw.length === 0) return null;
    if (raw[0] === 0x5b) return raw[raw.length - 1] === 0x5d ? '[v6]' : null;
    var bytes = percentDecode(raw, 0, raw.length, false);
    var host = '';
    for (var i = 0; i < bytes.length; i++) {
        var b = bytes[i];
        if (b >= 0x80) return '~idn';
        // The url crate's forbidden domain code points (the URL deny list).
        if (b <= 0x20 || b === 0x7f || '#%/:<>?@[\\]^|'.indexOf(String.fromCharCode(b)) >= 0) {
            return null;
        }
        host += String.fromCharCode(lower(b));
    }
    if (/(^|\.)xn--/.test(host)) return '~idn';
    return endsInNumber(host) ? ipv4(host) : host;
}

// imgshield's identity of a URL source (Source::identity), or null where it refuses the URL.
function urlIdentity(v) {
    // Tabs and newlines are dropped anywhere, C0 controls and spaces trimmed at both ends.
    var s = [];
    for (var i = 0; i < v.length; i++) {
        if (v[i] !== 0x09 && v[i] !== 0x0a && v[i] !== 0x0d) s.push(v[i]);
    }
    var a = 0, z = s.length;
    while (a < z && s[a] <= 0x20) a++;
    while (z > a && s[z - 1] <= 0x20) z--;
    if (a === z || !isAlpha(s[a])) return null;
    var p = a;
    var scheme = '';
    while (p < z && s[p] !== 0x3a) scheme += String.fromCharCode(lower(s[p++]));
    if (scheme !== 'http' && scheme !== 'https') return null;
    p++;
    while (p < z && (s[p] === 0x2f || s[p] === 0x5c)) p++;
    // The authority, up to the path, query or fragment; imgshield refuses any user or password.
    var authEnd = p;
    while (authEnd < z && s[authEnd] !== 0x2f && s[authEnd] !== 0x5c && s[authEnd] !== 0x3f &&
        s[authEnd] !== 0x23) authEnd++;
    var at = -1;
    for (var q = p; q < authEnd; q++) if (s[q] === 0x40) at = q;
    if (at >= 0) {
        var userinfo = at - p;
        if (!(userinfo === 0 || (userinfo === 1 && s[p] === 0x3a))) return null;
        p = at + 1;
    }
    var inBrackets = false, colon = -1;
    for (var h = p; h < authEnd; h++) {
        if (s[h] === 0x5b) inBrackets = true;
        else if (s[h] === 0x5d) inBrackets = false;
        else if (s[h] === 0x3a && !inBrackets) { colon = h; break; }
    }
    var host = hostKey(s.slice(p, colon >= 0 ? colon : authEnd));
    if (host === null) return null;
    var port = '';
    if (colon >= 0) {
        var digits = text(s.slice(colon + 1, authEnd));
        if (!/^[0-9]*$/.test(digits)) return null;
        if (digits !== '') {
            var n = parseInt(digits, 10);
            if (n > 65535) return null;
            if (n !== (scheme === 'http' ? 80 : 443)) port = ':' + n;
        }
    }
    // The path, segment by segment, with `.` and `..` (also spelt %2e) resolved.
    p = authEnd;
    if (p < z && (s[p] === 0x2f || s[p] === 0x5c)) p++;
    var segments = [];
    for (;;) {
        var seg = [];
        while (p < z && s[p] !== 0x2f && s[p] !== 0x5c && s[p] !== 0x3f && s[p] !== 0x23) {
            pushEscaped(seg, s[p++], false);
        }
        var slash = p < z && (s[p] === 0x2f || s[p] === 0x5c);
        var name = text(seg).toLowerCase();
        var dots = name === '..' || name === '.%2e' || name === '%2e.' || name === '%2e%2e' ? 2
            : name === '.' || name === '%2e' ? 1 : 0;
        if (dots === 2) {
            segments.pop();
            if (!slash) segments.push('');
        } else if (dots === 1) {
            if (!slash) segments.push('');
        } else {
            segments.push(text(seg));
        }
        if (!slash) break;
        p++;
    }
    var query = '';
    if (p < z && s[p] === 0x3f) {
        var qs = [];
        for (p++; p < z && s[p] !== 0x23; p++) pushEscaped(qs, s[p], true);
        query = '?' + text(qs);
    }
    return scheme + '://' + host + port + '/' + segments.join('/') + query;
}

// imgshield's identity of a path below --root, or null where it refuses the path.
function localIdentity(v) {
    if (v[0] === 0x2f || v.indexOf(0) >= 0 || v.indexOf(0x5c) >= 0) return null;
    var parts = [];
    var seg = [];
    for (var i = 0; i <= v.length; i++) {
        if (i < v.length && v[i] !== 0x2f) {
            pushEscaped(seg, v[i], false);
            continue;
        }
        var name = text(seg);
        if (name === '..') return null;
        if (name !== '' && name !== '.') parts.push(name);
        seg = [];
    }
    return parts.length === 0 ? null : 'local:' + parts.join('/');
}

// Source::parse: a URL when the text before the first `:` could be a scheme, else a local path.
function identity(v) {
    if (v.length === 0) return null;
    var colon = v.indexOf(0x3a);
    if (colon > 0) {
        var scheme = true;
        for (var i = 0; i < colon && scheme; i++) {
            var b = v[i];
            scheme = isAlpha(b) || isDigit(b) || b === 0x2b || b === 0x2d || b === 0x2e;
        }
        if (scheme) return urlIdentity(v);
    }
    return localIdentity(v);
}

// js_set $imgshield_source imgshield_source.key;
function key(r) {
    var id = null;
    try {
        var raw = r.rawVariables.args;
        var src = raw ? srcValue(raw) : null;
        id = src === null ? null : identity(src);
    } catch (e) {
        // Never an empty key (every such request would meet one replica): say so, hash the URI.
        r.error('imgshield-source: ' + e);
    }
    return id === null ? r.variables.request_uri : id;
}

export default { key: key, identity: identity, srcValue: srcValue };
