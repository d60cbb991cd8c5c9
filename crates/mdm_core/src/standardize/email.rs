//! E-mail addresses and web addresses: the two attributes that are already machine
//! identifiers, so cleaning only removes what people and exports add around them.

use super::Cleaned;

/// email's canonical form: trimmed, lower-case `local@domain.tld`. Also accepts the
/// decorations exports add: `mailto:`, `<...>`, `"Name" <...>`.
pub(crate) fn clean_email(raw: &str) -> Cleaned {
    let mut s = raw.trim();
    if let (Some(open), Some(close)) = (s.rfind('<'), s.rfind('>')) {
        if open < close {
            s = &s[open + 1..close];
        }
    }
    let s = s.trim();
    let s = strip_prefix_ignore_case(s, "mailto:").unwrap_or(s).trim();
    let lower = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    };
    match check_email_shape(&lower) {
        Ok(()) => Cleaned::Valid(lower),
        Err(why) => Cleaned::invalid(why),
    }
}

fn check_email_shape(s: &str) -> Result<(), &'static str> {
    let (local, domain) = s.rsplit_once('@').ok_or("no @")?;
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.contains('@') {
        return Err("more than one @");
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>' | '"'))
    {
        return Err("space or separator inside the address");
    }
    let (_, tld) = domain.rsplit_once('.').ok_or("domain without a dot")?;
    if domain
        .split('.')
        .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return Err("empty or malformed domain label");
    }
    if tld.len() < 2
        || !tld
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c.is_ascii_digit())
        || tld.chars().all(|c| c.is_ascii_digit())
    {
        return Err("top-level domain is not a name");
    }
    Ok(())
}

/// Splits a cleaned e-mail address into (local part, domain). A value without `@` is all
/// local part.
pub fn email_parts(clean: &str) -> (&str, &str) {
    clean.rsplit_once('@').unwrap_or((clean, ""))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// url's canonical form: lower-case host without scheme, credentials, port or `www.`,
/// then the path (case kept) without query, fragment or trailing slash.
pub(crate) fn clean_url(raw: &str) -> Cleaned {
    let mut s = raw.trim();
    if let Some(i) = s.find("://").filter(|&i| !s[..i].contains('/')) {
        s = &s[i + 3..];
    }
    let s = s.split(['#', '?']).next().unwrap_or(s);
    let (authority, path) = match s.find('/') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host
        .split(':')
        .next()
        .unwrap_or(host)
        .trim_end_matches('.')
        .to_lowercase();
    let mut host = host.as_str();
    while let Some(rest) = host.strip_prefix("www.") {
        host = rest;
    }
    let valid_host = host.contains('.')
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if !valid_host {
        return Cleaned::invalid("no host name");
    }
    let path = path.trim_end_matches('/');
    if path.chars().any(char::is_whitespace) {
        return Cleaned::invalid("space in the path");
    }
    Cleaned::Valid(format!("{host}{path}"))
}

/// Dummy e-mails typed into mandatory fields: a known dummy local part, or one that merely
/// repeats the domain (`na@na.com`, `x@x.de`).
pub(crate) fn is_placeholder_email(e: &str) -> bool {
    const DUMMY: &[&str] = &[
        "noemail", "nomail", "no.email", "no-email", "none", "na", "n.a", "keine", "kein",
        "nobody", "dummy", "test", "unknown", "noreply", "no-reply", "x", "xx", "xxx", "abc",
        "email", "mail", "null", "nil", "no", "ninguno", "aucun", "brak",
    ];
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    let label = domain.split('.').next().unwrap_or("");
    DUMMY.contains(&local) || local == label
}

/// The host of a cleaned web address (`acme.de/x` -> `acme.de`): what names a company's
/// site, whatever page a source linked.
pub(crate) fn url_host(clean: &str) -> &str {
    let h = clean.split(['/', '?', '#']).next().unwrap_or("");
    h.strip_prefix("www.").unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(c: Cleaned) -> String {
        match c {
            Cleaned::Valid(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            v(clean_email("  John.Doe@Example.COM ")),
            "john.doe@example.com"
        );
        assert_eq!(v(clean_email("mailto:info@acme.de")), "info@acme.de");
        assert_eq!(
            v(clean_email("\"Doe, John\" <J.Doe+crm@Mail.Example.co.uk>")),
            "j.doe+crm@mail.example.co.uk"
        );
        assert_eq!(v(clean_email("jörg@müller.de")), "jörg@müller.de");
        for bad in [
            "john.doe",
            "john@",
            "@example.com",
            "john@example",
            "john doe@example.com",
            "john@@example.com",
            "john@example..com",
            "john@example.c",
            "a@b.123",
            "a@b@c.de",
        ] {
            assert!(matches!(clean_email(bad), Cleaned::Invalid { .. }), "{bad}");
        }
    }

    #[test]
    fn parts() {
        assert_eq!(
            email_parts("john.doe@example.com"),
            ("john.doe", "example.com")
        );
        assert_eq!(email_parts("nobody"), ("nobody", ""));
    }

    #[test]
    fn urls() {
        assert_eq!(
            v(clean_url("https://WWW.Acme.com/About/")),
            "acme.com/About"
        );
        assert_eq!(v(clean_url("www.acme.de")), "acme.de");
        assert_eq!(
            v(clean_url("http://user@shop.acme.de:8080/x?utm=1#top")),
            "shop.acme.de/x"
        );
        assert_eq!(v(clean_url("ACME.COM/")), "acme.com");
        assert!(matches!(clean_url("not a url"), Cleaned::Invalid { .. }));
        assert!(matches!(clean_url("localhost"), Cleaned::Invalid { .. }));
    }
}
