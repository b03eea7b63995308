//! Include and exclude patterns: globs that select paths for backup and restore. A pattern
//! without `/` matches a name at any depth, one with `/` an absolute path; a trailing `/` is
//! ignored. Pure.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Compiles patterns into one matcher (used for excludes and, in restore, includes).
pub fn build_excludes(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_end_matches('/');
        let full = if p.contains('/') {
            p.to_string()
        } else {
            format!("**/{p}")
        };
        let g = GlobBuilder::new(&full)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| Error::Invalid(format!("exclude pattern {p:?}: {e}")))?;
        b.add(g);
    }
    b.build().map_err(|e| Error::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_anywhere_and_paths_exactly() {
        let g = build_excludes(&["*.tmp".into(), "/data/cache".into(), "node_modules/".into()])
            .unwrap();
        assert!(g.is_match("/x/y/a.tmp"));
        assert!(g.is_match("/data/cache"));
        assert!(!g.is_match("/other/data/cache"));
        assert!(g.is_match("/p/node_modules"));
        assert!(!g.is_match("/x/a.tmpx"));
        // `*` does not cross a separator in a path pattern.
        let g = build_excludes(&["/data/*/x".into()]).unwrap();
        assert!(g.is_match("/data/a/x"));
        assert!(!g.is_match("/data/a/b/x"));
    }

    #[test]
    fn a_bad_pattern_is_an_invalid_argument() {
        assert!(matches!(
            build_excludes(&["a[".into()]),
            Err(Error::Invalid(_))
        ));
    }
}
