//! Repository locations as users write them: a plain path or `local:PATH`, an S3 bucket
//! (`s3:https://HOST[:PORT]/BUCKET[/PREFIX]`, `s3:http://…`, or `s3://BUCKET[/PREFIX]` with the
//! endpoint from the environment), or `sftp:[USER@]HOST:PATH`. Pure: parsing only. A string
//! that looks like a URL of any other scheme (`sftp://`, `s4:`, `file://`) is refused, since
//! taking it as a relative path would create a local folder named after the URL and report
//! success.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

/// Where a repository lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3(S3Location),
    Sftp(SftpLocation),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// `https://host[:port]`, `http://host[:port]`; None: from the environment
    /// (`AWS_ENDPOINT_URL`) or AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` ("" for the whole bucket).
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpLocation {
    pub user: Option<String>,
    pub host: String,
    /// As given: relative to the login directory unless it starts with `/`.
    pub path: String,
}

/// The forms a repository string may take, for error messages.
pub const FORMS: &str = "a repository is one of: PATH or local:PATH (a directory), \
s3:https://HOST[:PORT]/BUCKET[/PREFIX] (or s3:http://… on a trusted network), \
s3://BUCKET[/PREFIX] (endpoint from AWS_ENDPOINT_URL, else AWS), sftp:[USER@]HOST:PATH";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("repository {given:?}: {why}; {FORMS}")]
pub struct UrlError {
    pub given: String,
    pub why: String,
}

fn err(given: &str, why: impl Into<String>) -> UrlError {
    UrlError {
        given: given.to_string(),
        why: why.into(),
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3(s) => {
                match &s.endpoint {
                    Some(e) => write!(f, "s3:{e}/{}", s.bucket)?,
                    None => write!(f, "s3://{}", s.bucket)?,
                }
                if !s.prefix.is_empty() {
                    write!(f, "/{}", s.prefix)?;
                }
                Ok(())
            }
            Location::Sftp(s) => match &s.user {
                Some(u) => write!(f, "sftp:{u}@{}:{}", s.host, s.path),
                None => write!(f, "sftp:{}:{}", s.host, s.path),
            },
        }
    }
}

impl Location {
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }
}

/// Parses a repository string. Not UTF-8: a local path (no URL is).
pub fn parse(given: &OsStr) -> Result<Location, UrlError> {
    let Some(s) = given.to_str() else {
        return Ok(Location::Local(PathBuf::from(given)));
    };
    if s.is_empty() {
        return Err(err(s, "empty"));
    }
    if let Some(p) = s.strip_prefix("local:") {
        if p.is_empty() {
            return Err(err(s, "no path after local:"));
        }
        return Ok(Location::Local(PathBuf::from(p)));
    }
    if let Some(rest) = s.strip_prefix("s3:") {
        return parse_s3(s, rest).map(Location::S3);
    }
    if let Some(rest) = s.strip_prefix("sftp:") {
        return parse_sftp(s, rest).map(Location::Sftp);
    }
    if let Some(scheme) = scheme_of(s) {
        return Err(err(s, format!("unknown scheme {scheme:?}")));
    }
    Ok(Location::Local(PathBuf::from(s)))
}

/// The scheme of a string that looks like `scheme:…`: letters, digits, `+ - .` before the
/// first colon, starting with a letter, and no `/` before it (`./a:b` and `/srv/a:b` are
/// paths). Such a local path is still reachable as `./name:…` or `local:name:…`.
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

fn parse_s3(given: &str, rest: &str) -> Result<S3Location, UrlError> {
    let (endpoint, path) = if let Some(p) = rest.strip_prefix("//") {
        (None, p)
    } else if let Some((scheme, after)) = rest.split_once("://") {
        if scheme != "https" && scheme != "http" {
            return Err(err(
                given,
                format!("the endpoint's scheme must be https or http, not {scheme:?}"),
            ));
        }
        let (host, path) = after.split_once('/').unwrap_or((after, ""));
        if host.is_empty() {
            return Err(err(given, "no host in the endpoint"));
        }
        if host.contains('@') {
            return Err(err(
                given,
                "credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
            ));
        }
        if !host_port_ok(host) {
            return Err(err(given, format!("{host:?} is not a host[:port]")));
        }
        (Some(format!("{scheme}://{host}")), path)
    } else {
        return Err(err(
            given,
            "after s3: comes https://HOST/BUCKET or //BUCKET",
        ));
    };
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if !bucket_ok(bucket) {
        return Err(err(
            given,
            format!(
                "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, dots and \
                 hyphens)"
            ),
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix
        .split('/')
        .any(|c| c == "." || c == ".." || (c.is_empty() && !prefix.is_empty()))
    {
        return Err(err(given, format!("{prefix:?} is not a clean key prefix")));
    }
    Ok(S3Location {
        endpoint,
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

fn host_port_ok(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || h.starts_with('[') => (host, Some(port)),
        _ => (h, None),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    };
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// S3's bucket naming rules, loosely: what every S3-compatible server accepts.
fn bucket_ok(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn parse_sftp(given: &str, rest: &str) -> Result<SftpLocation, UrlError> {
    if rest.starts_with("//") {
        return Err(err(given, "write sftp:[USER@]HOST:PATH, not sftp://"));
    }
    let Some((userhost, path)) = rest.split_once(':') else {
        return Err(err(given, "no path: write sftp:[USER@]HOST:PATH"));
    };
    let (user, host) = match userhost.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, userhost),
    };
    let safe = |x: &str| {
        !x.is_empty()
            && !x.starts_with('-')
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    if !safe(host) {
        return Err(err(given, format!("{host:?} is not a host name")));
    }
    if user.is_some_and(|u| !safe(u)) {
        return Err(err(
            given,
            format!("{:?} is not a user name", user.unwrap()),
        ));
    }
    if path.is_empty() || path.contains('\0') {
        return Err(err(given, "no path after HOST:"));
    }
    Ok(SftpLocation {
        user: user.map(str::to_string),
        host: host.to_string(),
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Location, UrlError> {
        parse(OsStr::new(s))
    }

    #[test]
    fn local_paths_and_the_local_scheme() {
        for (s, want) in [
            ("/srv/repo", "/srv/repo"),
            ("repo", "repo"),
            ("./a:b", "./a:b"),
            ("/srv/a:b", "/srv/a:b"),
            ("local:/srv/repo", "/srv/repo"),
            ("local:a:b", "a:b"),
        ] {
            assert_eq!(p(s).unwrap(), Location::Local(PathBuf::from(want)), "{s}");
        }
    }

    #[test]
    fn s3_urls_in_both_forms() {
        let l = p("s3:https://s3.example.com:9000/bucket-1/some/prefix/").unwrap();
        assert_eq!(
            l,
            Location::S3(S3Location {
                endpoint: Some("https://s3.example.com:9000".into()),
                bucket: "bucket-1".into(),
                prefix: "some/prefix".into()
            })
        );
        assert_eq!(
            l.to_string(),
            "s3:https://s3.example.com:9000/bucket-1/some/prefix"
        );
        let l = p("s3:http://127.0.0.1:8333/vcd").unwrap();
        assert_eq!(l.to_string(), "s3:http://127.0.0.1:8333/vcd");
        let l = p("s3://my.bucket/x").unwrap();
        assert_eq!(
            l,
            Location::S3(S3Location {
                endpoint: None,
                bucket: "my.bucket".into(),
                prefix: "x".into()
            })
        );
        assert!(p("s3:http://[::1]:8333/vcd").is_ok());
    }

    #[test]
    fn sftp_urls() {
        assert_eq!(
            p("sftp:backup@host.example:/srv/repo").unwrap(),
            Location::Sftp(SftpLocation {
                user: Some("backup".into()),
                host: "host.example".into(),
                path: "/srv/repo".into()
            })
        );
        assert_eq!(
            p("sftp:host:repo").unwrap().to_string(),
            "sftp:host:repo".to_string()
        );
    }

    #[test]
    fn unknown_schemes_and_bad_urls_are_refused_with_the_forms() {
        for (s, why) in [
            ("sftp://host/path", "not sftp://"),
            ("s4:bucket", "unknown scheme \"s4\""),
            ("file:///srv", "unknown scheme \"file\""),
            ("rest:http://x/", "unknown scheme \"rest\""),
            ("s3:ftp://h/b", "https or http"),
            ("s3:https://h", "not a bucket name"),
            ("s3:https://key:secret@h/bucket", "credentials"),
            ("s3:https://h/Bad_Bucket", "not a bucket name"),
            ("s3:https://h/bucket/../x", "clean key prefix"),
            ("s3:bucket", "after s3:"),
            ("s3:https://h:99999/bucket", "host[:port]"),
            ("sftp:host", "no path"),
            ("sftp:-oProxyCommand=x:/p", "not a host name"),
            ("sftp:host:", "no path"),
            ("local:", "no path"),
            ("", "empty"),
        ] {
            let e = p(s).unwrap_err();
            let m = e.to_string();
            assert!(m.contains(why), "{s}: {m}");
            assert!(m.contains("sftp:[USER@]HOST:PATH"), "{s}: {m}");
        }
    }
}
