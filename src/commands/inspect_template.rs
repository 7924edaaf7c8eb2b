//! `trajkit inspect-template`: what a chat template supports, found by probing it.

use anyhow::Result;

use super::settings::resolve;
use super::Exit;
use crate::cli::InspectTemplateArgs;
use trajkit::render::probe::{inspect, Report, Support};
use trajkit::render::RenderOptions;

pub fn run(args: InspectTemplateArgs) -> Result<Exit> {
    let resolved =
        resolve(&args.template, args.template_name.as_deref(), args.tokenizer.as_deref(), args.date.as_deref())?;
    let render = RenderOptions { date: resolved.date, ..Default::default() };
    let report = inspect(&resolved.template, &render);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(if report.error.is_some() { Exit::Problems } else { Exit::Success })
}

fn quoted(s: &str) -> String {
    format!("«{}»", s.escape_debug())
}

fn support(s: &Support, what_ignored: &str) -> String {
    match s {
        Support::Yes => "yes".into(),
        Support::Ignored => format!("no ({what_ignored})"),
        Support::Refused(m) => format!("no: the template refuses it ({m})"),
    }
}

fn text(r: &Report) -> String {
    let mut lines = vec![format!("template           {}", r.name)];
    let spans = if r.generation_markers {
        "its {% generation %} markers"
    } else {
        "derived by trajkit (no {% generation %} markers)"
    };
    lines.push(format!("supervised spans   {spans}"));
    if let Some(e) = &r.error {
        lines.push(format!("error              a plain user/assistant exchange does not render: {e}"));
    }
    lines.push(format!(
        "generation prompt  {}",
        r.generation_prompt.as_deref().map_or("none (the template fails with add_generation_prompt)".into(), quoted)
    ));
    lines.push(format!("system prompt      {}", support(&r.system_prompt, "the system message is not rendered")));
    if r.default_system_prompt {
        lines.push("default system     yes: without a system message the template writes one of its own".into());
    }
    lines.push(format!("tools              {}", support(&r.tools, "tool schemas are not rendered")));
    lines.push(format!("tool calls         {}", support(&r.tool_calls, "tool calls are not rendered")));
    lines.push(format!("tool results       {}", support(&r.tool_results, "tool results are not rendered")));
    lines.push(format!("parallel calls     {}", support(&r.parallel_calls, "only some of the calls are rendered")));
    lines.push(format!("reasoning          {}", support(&r.reasoning, "reasoning_content is not rendered")));
    if let Some(drops) = r.drops_earlier_reasoning {
        let what = if drops {
            "yes: reasoning before the last user message is dropped"
        } else {
            "no: every turn keeps its reasoning"
        };
        lines.push(format!("drops old thinking {what}"));
    }
    let prefix = match (&r.prefix_preserving.preserving, &r.prefix_preserving.detail) {
        (true, _) => "yes: each shorter conversation renders as a prefix of the longer one".to_string(),
        (false, Some(d)) => format!("no: {d}"),
        (false, None) => "no".to_string(),
    };
    lines.push(format!("prefix-preserving  {prefix}"));
    let ends: Vec<String> = r.end_of_turn.iter().map(|e| quoted(e)).collect();
    lines.push(format!(
        "end of turn        {}",
        if ends.is_empty() { "not found (no tag-like token after the answer)".into() } else { ends.join(" / ") }
    ));
    lines.push(format!(
        "mask covers it     {}",
        match r.mask_covers_end {
            Some(true) => "yes",
            Some(false) => "NO: the model would not learn to stop",
            None => "unknown",
        }
    ));
    if let Some(s) = &r.supervised_example {
        lines.push(format!("supervised example {}", quoted(s)));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
