//! Hugging Face Hub names (`org/name`, `org/name@revision`) resolved from the local Hub cache.
//!
//! The cache layout is huggingface_hub's: `$HF_HUB_CACHE` (default `$HF_HOME/hub`, default
//! `~/.cache/huggingface/hub`) holds `models--org--name/` with `refs/<branch>` (a commit hash) and
//! `snapshots/<commit>/` (the files, usually symlinks into `blobs/`). Nothing is downloaded: a model
//! that is not in the cache is an error that says how to fetch it.

use std::path::{Path, PathBuf};

/// Whether `spec` looks like a Hub repository id rather than a file name: `org/name` or
/// `org/name@revision`, one slash, no path syntax.
pub fn is_repo_id(spec: &str) -> bool {
    let repo = spec.split_once('@').map_or(spec, |(r, _)| r);
    let Some((org, name)) = repo.split_once('/') else { return false };
    let part_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    part_ok(org) && part_ok(name) && !spec.ends_with(".json") && !spec.ends_with(".jinja")
}

/// The Hub cache folder, from the environment as huggingface_hub reads it.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return Some(dir);
    }
    if let Some(home) = var("HF_HOME") {
        return Some(home.join("hub"));
    }
    let cache = var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?;
    Some(cache.join("huggingface").join("hub"))
}

/// The snapshot folder of `org/name[@revision]` in the local cache (revision: a branch or tag
/// under `refs/`, or a commit hash; default `main`).
pub fn snapshot(spec: &str) -> Result<PathBuf, String> {
    let cache = cache_dir().ok_or("cannot locate the Hugging Face cache: set HF_HOME or HF_HUB_CACHE")?;
    snapshot_in(&cache, spec)
}

pub fn snapshot_in(cache: &Path, spec: &str) -> Result<PathBuf, String> {
    let (repo, revision) = match spec.split_once('@') {
        Some((r, rev)) => (r, Some(rev)),
        None => (spec, None),
    };
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let not_cached = || {
        format!(
            "{repo} is not in the Hugging Face cache ({}); trajkit does not download. Fetch it first, e.g. \
             `hf download {repo} tokenizer.json tokenizer_config.json chat_template.jinja`, or pass a local folder",
            folder.display()
        )
    };
    if !folder.is_dir() {
        return Err(not_cached());
    }
    let snapshots = folder.join("snapshots");
    let wanted = revision.unwrap_or("main");
    let commit = match std::fs::read_to_string(folder.join("refs").join(wanted)) {
        Ok(hash) => hash.trim().to_string(),
        Err(_) if revision.is_some() => wanted.to_string(),
        Err(_) => {
            // No refs/main: accept a cache with exactly one snapshot.
            let mut found: Vec<PathBuf> = std::fs::read_dir(&snapshots)
                .map_err(|_| not_cached())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            return match found.len() {
                1 => Ok(found.remove(0)),
                0 => Err(not_cached()),
                n => Err(format!(
                    "{repo}: {n} snapshots in {} and no refs/main; name one with {repo}@<commit>",
                    snapshots.display()
                )),
            };
        }
    };
    let dir = snapshots.join(&commit);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!("{repo}@{wanted}: snapshot {commit} is not in {}", snapshots.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_and_paths() {
        assert!(is_repo_id("meta-llama/Llama-3.1-8B-Instruct"));
        assert!(is_repo_id("Qwen/Qwen3-8B@main"));
        assert!(!is_repo_id("qwen3"));
        assert!(!is_repo_id("./a/b"));
        assert!(!is_repo_id("templates/x.jinja"));
        assert!(!is_repo_id("/abs/path"));
        assert!(!is_repo_id("a/b/c"));
    }

    #[test]
    fn resolves_refs_and_commits() {
        let cache = std::env::temp_dir().join(format!("trajkit-hub-{}", std::process::id()));
        let repo = cache.join("models--org--model");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots/def456")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        assert_eq!(snapshot_in(&cache, "org/model").unwrap(), repo.join("snapshots/abc123"));
        assert_eq!(snapshot_in(&cache, "org/model@def456").unwrap(), repo.join("snapshots/def456"));
        assert!(snapshot_in(&cache, "org/model@nope").unwrap_err().contains("not in"));
        assert!(snapshot_in(&cache, "org/other").unwrap_err().contains("does not download"));
        std::fs::remove_dir_all(&cache).unwrap();
    }
}
