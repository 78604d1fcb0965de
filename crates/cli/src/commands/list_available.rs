//! `base44 connectors list-available` (protocol.md §3.8).

use connectors_wire::AvailableIntegrations;
use serde::Serialize;
use serde_json::Value;

use super::{App, Env, Outcome};
use crate::error::CliError;
use crate::json;
use crate::yaml::{format_yaml, Yaml};

/// One integration as the npm CLI prints it: camelCase keys.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationOut {
    integration_type: String,
    display_name: String,
    description: String,
    connection_config_fields: Vec<FieldOut>,
}

/// One config field; a validation key absent from the response stays
/// absent (`None`), a `null` stays `null` (`Some(None)`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldOut {
    name: String,
    display_name: String,
    description: String,
    placeholder: String,
    required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_pattern: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_error: Option<Option<String>>,
}

#[derive(Serialize)]
struct Output<'a> {
    integrations: &'a [IntegrationOut],
}

/// Converts the validated body, consulting the raw one for key presence.
pub fn to_output(parsed: AvailableIntegrations, raw: &Value) -> Vec<IntegrationOut> {
    parsed
        .integrations
        .into_iter()
        .enumerate()
        .map(|(i, it)| IntegrationOut {
            integration_type: it.integration_type,
            display_name: it.display_name,
            description: it.description,
            connection_config_fields: it
                .connection_config_fields
                .into_iter()
                .enumerate()
                .map(|(j, f)| {
                    let present = |key: &str| {
                        raw["integrations"][i]["connection_config_fields"][j]
                            .as_object()
                            .is_some_and(|o| o.contains_key(key))
                    };
                    FieldOut {
                        validation_pattern: present("validation_pattern")
                            .then_some(f.validation_pattern),
                        validation_error: present("validation_error").then_some(f.validation_error),
                        name: f.name,
                        display_name: f.display_name,
                        description: f.description,
                        placeholder: f.placeholder,
                        required: f.required,
                    }
                })
                .collect(),
        })
        .collect()
}

fn opt(v: &Option<Option<String>>) -> Yaml {
    match v {
        Some(Some(s)) => Yaml::Str(s.clone()),
        _ => Yaml::Null,
    }
}

/// The YAML block under an integration's display name.
pub fn human_block(it: &IntegrationOut) -> String {
    let fields = it
        .connection_config_fields
        .iter()
        .map(|f| {
            Yaml::Map(vec![
                ("name".into(), Yaml::Str(f.name.clone())),
                ("displayName".into(), Yaml::Str(f.display_name.clone())),
                ("description".into(), Yaml::Str(f.description.clone())),
                ("placeholder".into(), Yaml::Str(f.placeholder.clone())),
                ("required".into(), Yaml::Bool(f.required)),
                ("validationPattern".into(), opt(&f.validation_pattern)),
                ("validationError".into(), opt(&f.validation_error)),
            ])
        })
        .collect();
    let rest = Yaml::Map(vec![
        (
            "integrationType".into(),
            Yaml::Str(it.integration_type.clone()),
        ),
        ("description".into(), Yaml::Str(it.description.clone())),
        ("connectionConfigFields".into(), Yaml::Seq(fields)),
    ]);
    let yaml = format_yaml(&rest);
    format!("{}\n  {}", it.display_name, yaml.replace('\n', "\n  "))
}

/// Runs the command.
pub async fn run(env: &Env, app: &App) -> Result<Outcome, CliError> {
    let (parsed, raw) = env
        .ui
        .task(
            "Fetching available integrations from Base44",
            Some("Available integrations fetched successfully"),
            Some("Failed to fetch available integrations"),
            app.client.available_integrations(),
        )
        .await?;
    let integrations = to_output(parsed, &raw);
    let found = format!("Found {} available integrations.", integrations.len());
    if env.ui.json {
        return Ok(Outcome::with_stdout(
            found,
            json::to_stdout(&Output {
                integrations: &integrations,
            }),
        ));
    }
    if integrations.is_empty() {
        return Ok(Outcome::outro("No available integrations found."));
    }
    for it in &integrations {
        env.ui.info(&human_block(it));
    }
    Ok(Outcome::outro(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_stays_absent_and_null_stays_null() {
        let raw = json!({"integrations": [{
        "integration_type": "gmail", "display_name": "Gmail", "description": "Mail",
        "connection_config_fields": [
            {"name": "a", "display_name": "A", "description": "d", "placeholder": "p", "required": true},
            {"name": "b", "display_name": "B", "description": "d", "placeholder": "", "required": false,
             "validation_pattern": null, "validation_error": "e"}
        ]}]});
        let parsed: AvailableIntegrations = serde_json::from_value(raw.clone()).unwrap();
        let out = to_output(parsed, &raw);
        let text = serde_json::to_string(&out).unwrap();
        assert_eq!(
            text,
            r#"[{"integrationType":"gmail","displayName":"Gmail","description":"Mail","connectionConfigFields":[{"name":"a","displayName":"A","description":"d","placeholder":"p","required":true},{"name":"b","displayName":"B","description":"d","placeholder":"","required":false,"validationPattern":null,"validationError":"e"}]}]"#
        );
        assert_eq!(
            human_block(&out[0]),
            "Gmail\n  integrationType: gmail\n  description: Mail\n  connectionConfigFields:\n    - name: a\n      displayName: A\n      description: d\n      placeholder: p\n      required: true\n    - name: b\n      displayName: B\n      description: d\n      required: false\n      validationError: e"
        );
    }
}
