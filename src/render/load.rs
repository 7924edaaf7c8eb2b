//! Finding a chat template: a built-in name, a `.jinja` file, a `tokenizer_config.json`, or a model
//! folder. A model's own files also say which tokenizer and special tokens go with the template.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{ChatTemplate, Date, RenderError};
use crate::family::Family;
use crate::hub;
use crate::tokenize::{Embedded, TokenizerSource};

/// A template ready to render, and the tokenizer that belongs with it when known.
pub struct LoadedTemplate {
    pub template: ChatTemplate,
    pub tokenizer: Option<TokenizerSource>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: {source}")]
    Template { path: String, source: RenderError },
}

/// What `--template` resolution may use besides the spec itself.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// `--template-name`: one of several named templates. By default `default`, and `tool_use` for
    /// rows that carry tools when the model has such a template (as transformers chooses).
    pub variant: Option<&'a str>,
    /// `--tokenizer`, when given: its `tokenizer_config.json` supplies the special tokens
    /// (`bos_token`, `eos_token`, ...) the template sees, as transformers takes them from the
    /// tokenizer that applies the template.
    pub tokenizer: Option<&'a str>,
    pub date: Date,
}

/// Resolve `--template` with only a variant (see [`load_with`]).
pub fn load(spec: &str, variant: Option<&str>, date: Date) -> Result<LoadedTemplate, LoadError> {
    load_with(spec, LoadOptions { variant, tokenizer: None, date })
}

/// Resolve `--template`: a built-in name, a `.jinja` file, a `tokenizer_config.json`, a model folder
/// (`chat_template.jinja`, `additional_chat_templates/`, or the config's `chat_template`), or a Hub
/// name `org/name[@revision]` found in the local Hugging Face cache.
pub fn load_with(spec: &str, options: LoadOptions<'_>) -> Result<LoadedTemplate, LoadError> {
    if let Some(builtin) = Family::named(spec) {
        let template = ChatTemplate::builtin(builtin, options.date)
            .map_err(|source| LoadError::Template { path: spec.into(), source })?;
        return Ok(LoadedTemplate { template, tokenizer: Some(TokenizerSource::Embedded(Embedded::of(builtin))) });
    }
    let path = resolve_path(spec)?;
    let found = find_sources(&path, options.variant)?;
    let mut tokens = match found.config.as_ref().filter(|p| p.exists()) {
        Some(p) => special_tokens(&read_json(p)?),
        None => Map::new(),
    };
    if let Some(tokenizer) = options.tokenizer {
        if let Some(config) = tokenizer_config(tokenizer)? {
            tokens = special_tokens(&config);
        }
    }
    let name = if hub::is_repo_id(spec) && !Path::new(spec).exists() {
        spec.to_string()
    } else {
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| spec.to_string())
    };
    let name = match options.variant {
        Some(v) => format!("{name}:{v}"),
        None => name,
    };
    let compile = |name: &str, source: &str| {
        ChatTemplate::from_source(name, source, tokens.clone(), options.date)
            .map_err(|source| LoadError::Template { path: spec.into(), source })
    };
    let mut template = compile(&name, &found.source)?;
    if let Some(tool_use) = &found.tool_use {
        template = template.with_tool_use(compile(&format!("{name}:tool_use"), tool_use)?);
    }
    let tokenizer = tokenizer_file(&found.folder).map(TokenizerSource::Path);
    Ok(LoadedTemplate { template, tokenizer })
}

/// A path as given, or the cache snapshot of a Hub name.
fn resolve_path(spec: &str) -> Result<PathBuf, LoadError> {
    let path = PathBuf::from(spec);
    if path.exists() {
        return Ok(path);
    }
    if hub::is_repo_id(spec) {
        return hub::snapshot(spec).map_err(|message| LoadError::File { path: spec.into(), message });
    }
    Err(LoadError::File {
        path: spec.into(),
        message: "no such template (built-in templates: qwen3, chatml, harmony; or a .jinja file, a \
                  tokenizer_config.json, a model folder, or a Hub name org/name in the local cache)"
            .into(),
    })
}

/// Where a template was found.
struct Sources {
    source: String,
    /// The `tool_use` template, for rows with tools, when no variant was asked for.
    tool_use: Option<String>,
    /// The tokenizer_config.json that goes with it (special tokens).
    config: Option<PathBuf>,
    /// The folder that may hold the tokenizer.
    folder: PathBuf,
}

fn find_sources(path: &Path, variant: Option<&str>) -> Result<Sources, LoadError> {
    if !path.is_dir() {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "json") {
            let (source, tool_use) = template_from_config(path, variant)?;
            return Ok(Sources { source, tool_use, config: Some(path.into()), folder });
        }
        let config = Some(folder.join("tokenizer_config.json"));
        return Ok(Sources { source: read(path)?, tool_use: None, config, folder });
    }
    let config = path.join("tokenizer_config.json");
    let extra = path.join("additional_chat_templates");
    let jinja = path.join("chat_template.jinja");
    let found = |source: String, tool_use: Option<String>| {
        Ok(Sources { source, tool_use, config: Some(config.clone()), folder: path.into() })
    };
    match variant.filter(|v| *v != "default") {
        Some(v) => {
            let named = extra.join(format!("{v}.jinja"));
            if named.exists() {
                return found(read(&named)?, None);
            }
            if jinja.exists() || !config.exists() {
                return Err(LoadError::File {
                    path: path.display().to_string(),
                    message: format!("no chat template named `{v}` (looked for {})", named.display()),
                });
            }
            let (source, tool_use) = template_from_config(&config, variant)?;
            found(source, tool_use)
        }
        None if jinja.exists() => {
            let tool_use = extra.join("tool_use.jinja");
            let tool_use = if variant.is_none() && tool_use.exists() { Some(read(&tool_use)?) } else { None };
            found(read(&jinja)?, tool_use)
        }
        None => {
            let (source, tool_use) = template_from_config(&config, variant)?;
            found(source, tool_use)
        }
    }
}

/// `tokenizer.json` (or the gzip-compressed `tokenizer.json.gz`) in a folder.
fn tokenizer_file(folder: &Path) -> Option<PathBuf> {
    ["tokenizer.json", "tokenizer.json.gz"].into_iter().map(|f| folder.join(f)).find(|p| p.exists())
}

/// The tokenizer_config.json that goes with `--tokenizer`, when there is one.
fn tokenizer_config(spec: &str) -> Result<Option<Value>, LoadError> {
    if let Some(embedded) = Embedded::named(spec) {
        let text = match embedded {
            Embedded::Qwen3 => include_str!("../../fixtures/tokenizers/qwen3/tokenizer_config.json"),
            Embedded::GptOss => include_str!("../../fixtures/tokenizers/gpt-oss/tokenizer_config.json"),
        };
        return Ok(serde_json::from_str(text).ok());
    }
    let path = match resolve_path(spec) {
        Ok(p) => p,
        Err(_) => return Ok(None), // the tokenizer loader reports it
    };
    let config = if path.is_dir() {
        path.join("tokenizer_config.json")
    } else {
        path.parent().map(|d| d.join("tokenizer_config.json")).unwrap_or_default()
    };
    if config.exists() {
        Ok(Some(read_json(&config)?))
    } else {
        Ok(None)
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path)
        .map_err(|e| LoadError::File { path: path.display().to_string(), message: e.to_string() })
}

fn read_json(path: &Path) -> Result<Value, LoadError> {
    serde_json::from_str(&read(path)?)
        .map_err(|e| LoadError::File { path: path.display().to_string(), message: format!("not JSON: {e}") })
}

/// The `chat_template` of a tokenizer config: a string, or a list of `{name, template}` from which
/// `variant` (default `default`) is taken, plus `tool_use` when no variant was asked for.
fn template_from_config(path: &Path, variant: Option<&str>) -> Result<(String, Option<String>), LoadError> {
    let config = read_json(path)?;
    let missing = |message: String| LoadError::File { path: path.display().to_string(), message };
    match config.get("chat_template") {
        Some(Value::String(s)) => match variant {
            Some(v) if v != "default" => {
                Err(missing(format!("no chat template named `{v}` (the config has one template)")))
            }
            _ => Ok((s.clone(), None)),
        },
        Some(Value::Array(list)) => {
            let named = |wanted: &str| {
                list.iter()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some(wanted))
                    .and_then(|t| t.get("template").and_then(Value::as_str))
                    .map(str::to_string)
            };
            let names: Vec<&str> = list.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).collect();
            let wanted = variant.unwrap_or("default");
            let source = named(wanted).ok_or_else(|| {
                missing(format!(
                    "no chat template named `{wanted}` (this config has: {}); choose one with --template-name",
                    names.join(", ")
                ))
            })?;
            let tool_use = if variant.is_none() { named("tool_use") } else { None };
            Ok((source, tool_use))
        }
        _ => Err(missing("no `chat_template` in this config".into())),
    }
}

/// `bos_token`, `eos_token`, … as transformers passes them to templates (strings, or the
/// `content` of an AddedToken object).
fn special_tokens(config: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(map) = config.as_object() else { return out };
    for (key, value) in map {
        if !key.ends_with("_token") {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Object(o) => match o.get("content").and_then(Value::as_str) {
                Some(s) => s.to_string(),
                None => continue,
            },
            _ => continue,
        };
        out.insert(key.clone(), Value::String(text));
    }
    // transformers 5 also passes the model-specific tokens named in `extra_special_tokens`.
    if let Some(Value::Object(extra)) = map.get("extra_special_tokens") {
        for (key, value) in extra {
            if let Some(text) = value.as_str().or_else(|| value.get("content").and_then(Value::as_str)) {
                out.entry(key.clone()).or_insert_with(|| Value::String(text.to_string()));
            }
        }
    }
    out
}
