//! Finding a chat template: a built-in name, a `.jinja` file, a `tokenizer_config.json`, or a model
//! folder. A model's own files also say which tokenizer and special tokens go with the template.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Builtin, ChatTemplate, Date, RenderError};
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

/// Resolve `--template`. `variant` picks one of several named templates in a config
/// (`--template-name`); by default `default`, or `tool_use` when `has_tools` and it exists.
pub fn load(spec: &str, variant: Option<&str>, date: Date) -> Result<LoadedTemplate, LoadError> {
    if let Some(builtin) = Builtin::parse(spec).filter(|_| !Path::new(spec).exists()) {
        let template =
            ChatTemplate::builtin(builtin, date).map_err(|source| LoadError::Template { path: spec.into(), source })?;
        return Ok(LoadedTemplate { template, tokenizer: Some(TokenizerSource::Embedded(builtin.tokenizer())) });
    }
    let path = PathBuf::from(spec);
    let file_error = |p: &Path, message: String| LoadError::File { path: p.display().to_string(), message };
    let (source, config_path, folder) = if path.is_dir() {
        let jinja = path.join("chat_template.jinja");
        if jinja.exists() {
            (read(&jinja)?, Some(path.join("tokenizer_config.json")), path.clone())
        } else {
            let config = path.join("tokenizer_config.json");
            (template_from_config(&config, variant)?, Some(config), path.clone())
        }
    } else if path.extension().is_some_and(|e| e == "json") {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (template_from_config(&path, variant)?, Some(path.clone()), folder)
    } else if path.exists() {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (read(&path)?, Some(folder.join("tokenizer_config.json")), folder)
    } else {
        return Err(file_error(&path, "no such template (built-in templates: qwen3, chatml, harmony)".into()));
    };
    let special_tokens = match config_path.filter(|p| p.exists()) {
        Some(p) => special_tokens(&read_json(&p)?),
        None => Map::new(),
    };
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| spec.to_string());
    let template = ChatTemplate::from_source(&name, &source, special_tokens, date)
        .map_err(|source| LoadError::Template { path: spec.into(), source })?;
    let tokenizer_json = folder.join("tokenizer.json");
    let tokenizer = tokenizer_json.exists().then(|| TokenizerSource::Path(tokenizer_json));
    Ok(LoadedTemplate { template, tokenizer })
}

impl Builtin {
    /// The tokenizer each built-in template is meant for.
    pub fn tokenizer(self) -> Embedded {
        match self {
            Builtin::Qwen3 | Builtin::ChatMl => Embedded::Qwen3,
            Builtin::Harmony => Embedded::GptOss,
        }
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

/// The `chat_template` of a tokenizer config: a string, or a list of `{name, template}`.
fn template_from_config(path: &Path, variant: Option<&str>) -> Result<String, LoadError> {
    let config = read_json(path)?;
    let missing = |message: String| LoadError::File { path: path.display().to_string(), message };
    match config.get("chat_template") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(list)) => {
            let wanted = variant.unwrap_or("default");
            list.iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(wanted))
                .and_then(|t| t.get("template").and_then(Value::as_str))
                .map(str::to_string)
                .ok_or_else(|| missing(format!("no chat template named `{wanted}`")))
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
    out
}
