//! The dashboard's app-user pages (#13.5): the app's settings for its end
//! users (allowed origins, default return URL, identity provider) as a
//! form over the same use case as `PUT …/app-user-settings`, and a
//! builder's "Disconnect…" of one user's connection.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use connectors_engine::EngineError;
use connectors_wire::{AppUserSettings, IdentityProviderSettings};
use maud::{html, Markup};
use serde::Deserialize;

use super::{
    authorize, authorize_form, confirm_page, connections_url, dashboard_page, encode,
    engine_failure, failure, AppSegment,
};
use crate::extract::{PageForm, PagePath};
use crate::routes::signin::respond;
use crate::session::{redirect, SignedIn, CSRF_FIELD};
use crate::state::AppState;

/// Where the settings form is.
pub(super) fn settings_url(app_id: &str) -> String {
    format!("{}/app-user-settings", connections_url(app_id))
}

/// `{app_id}`, `{user_id}` and `{connector_id}` of a user's connection.
#[derive(Debug, Deserialize)]
pub struct AppUserConnectionSegments {
    app_id: String,
    user_id: String,
    connector_id: String,
}

/// The settings form as sent: text fields, exactly as typed, so a refused
/// form comes back with everything the builder entered.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    /// One origin per line.
    #[serde(default)]
    allowed_origins: String,
    #[serde(default)]
    default_return_url: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    user_id_claim: String,
    #[serde(default)]
    email_claim: String,
    /// Separated by spaces or commas.
    #[serde(default)]
    algorithms: String,
}

impl SettingsForm {
    fn of(settings: &AppUserSettings) -> Self {
        let p = settings.identity_provider.as_ref();
        let field = |f: fn(&IdentityProviderSettings) -> String| p.map(f).unwrap_or_default();
        Self {
            csrf: String::new(),
            allowed_origins: settings.allowed_origins.join("\n"),
            default_return_url: settings.default_return_url.clone().unwrap_or_default(),
            issuer: field(|p| p.issuer.clone()),
            jwks_uri: field(|p| p.jwks_uri.clone()),
            audience: field(|p| p.audience.clone()),
            user_id_claim: field(|p| p.user_id_claim.clone()),
            email_claim: field(|p| p.email_claim.clone()),
            algorithms: field(|p| p.algorithms.join(" ")),
        }
    }

    /// The settings the form asks for; blank optional fields take the
    /// API's defaults (the claim names, the algorithms). The identity
    /// provider is off when its three required fields are all blank.
    fn settings(&self) -> AppUserSettings {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let idp_given = [&self.issuer, &self.jwks_uri, &self.audience]
            .iter()
            .any(|f| !f.trim().is_empty());
        let identity_provider = idp_given.then(|| {
            let algorithms: Vec<String> = self
                .algorithms
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            IdentityProviderSettings {
                issuer: self.issuer.trim().to_string(),
                jwks_uri: self.jwks_uri.trim().to_string(),
                audience: self.audience.trim().to_string(),
                user_id_claim: text(&self.user_id_claim)
                    .unwrap_or_else(IdentityProviderSettings::default_user_id_claim),
                email_claim: text(&self.email_claim)
                    .unwrap_or_else(IdentityProviderSettings::default_email_claim),
                algorithms: if algorithms.is_empty() {
                    IdentityProviderSettings::default_algorithms()
                } else {
                    algorithms
                },
            }
        });
        AppUserSettings {
            allowed_origins: self
                .allowed_origins
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            default_return_url: text(&self.default_return_url),
            identity_provider,
        }
    }
}

/// What the connectors page says of the settings, with the way to edit them.
pub(super) fn settings_summary(app_id: &str, settings: &AppUserSettings) -> Markup {
    html! {
        dl.facts {
            dt { "Allowed origins" }
            dd {
                @if settings.allowed_origins.is_empty() {
                    "none: the app's pages cannot call the connect routes from a browser"
                } @else {
                    ul.scopes { @for o in &settings.allowed_origins { li { code { (o) } } } }
                }
            }
            dt { "Default return URL" }
            dd {
                @match &settings.default_return_url {
                    Some(url) => { code { (url) } }
                    None => { "none: users return to the page they started from, when its origin is allowed" }
                }
            }
            dt { "Users signed in by" }
            dd {
                "this server's app-user tokens"
                @if let Some(p) = &settings.identity_provider {
                    ", and the app's identity provider " code { (p.issuer) }
                }
            }
        }
        p { a href=(settings_url(app_id)) { "Edit app-user settings" } }
    }
}

fn settings_form(
    signed_in: &SignedIn,
    app_id: &str,
    form: &SettingsForm,
    error: Option<&str>,
) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error role="alert" id="form-error" { (e) }
        }
        form method="post" action=(settings_url(app_id)) aria-describedby=[error.map(|_| "form-error")] {
            input type="hidden" name=(CSRF_FIELD) value=(signed_in.builder.csrf_token());
            label for="allowed_origins" { "Allowed origins" }
            textarea id="allowed_origins" name="allowed_origins" rows="4" spellcheck="false" aria-describedby="allowed_origins-help" { (form.allowed_origins) }
            p.help id="allowed_origins-help" { "One per line, like " code { "https://app.example.com" } " (http only for localhost). Only these may call the connect routes from a browser, receive the outcome message, and be returned to." }
            label for="default_return_url" { "Default return URL" }
            input id="default_return_url" name="default_return_url" type="url" value=(form.default_return_url) aria-describedby="default_return_url-help";
            p.help id="default_return_url-help" { "Where a user goes after consent when the page they started from is not on an allowed origin. Its origin must be allowed. Optional." }
            fieldset {
                legend { "The app's own identity provider (optional)" }
                p.help { "Leave issuer, JWKS URL and audience blank to accept only this server's app-user tokens." }
                label for="issuer" { "Issuer" }
                input id="issuer" name="issuer" type="url" value=(form.issuer);
                label for="jwks_uri" { "JWKS URL" }
                input id="jwks_uri" name="jwks_uri" type="url" value=(form.jwks_uri);
                label for="audience" { "Audience" }
                input id="audience" name="audience" type="text" value=(form.audience) aria-describedby="audience-help";
                p.help id="audience-help" { "The " code { "aud" } " your provider puts in this app's tokens." }
                label for="user_id_claim" { "User id claim" }
                input id="user_id_claim" name="user_id_claim" type="text" value=(form.user_id_claim) placeholder="sub";
                label for="email_claim" { "Email claim" }
                input id="email_claim" name="email_claim" type="text" value=(form.email_claim) placeholder="email";
                label for="algorithms" { "Algorithms" }
                input id="algorithms" name="algorithms" type="text" value=(form.algorithms) placeholder="RS256 ES256 EdDSA" aria-describedby="algorithms-help";
                p.help id="algorithms-help" { "Asymmetric only, separated by spaces." }
            }
            div.actions {
                button type="submit" { "Save settings" }
                a.button-link href=(connections_url(app_id)) { "Cancel" }
            }
        }
    }
}

/// `GET …/app-connections/app-user-settings`: the form, filled in.
pub async fn settings_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state.engine.app_user_settings(&app).await {
        Ok(settings) => respond(
            StatusCode::OK,
            dashboard_page(
                &signed_in,
                app.app(),
                None,
                "App-user settings",
                settings_form(&signed_in, &app_id, &SettingsForm::of(&settings), None),
            ),
        ),
        Err(e) => engine_failure(e, &app_id),
    }
}

/// `POST …/app-connections/app-user-settings`: saved, or the form again
/// with what was wrong and everything as typed.
pub async fn save_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(AppSegment { app_id }): PagePath<AppSegment>,
    PageForm(form): PageForm<SettingsForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, &form.csrf, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .put_app_user_settings(&app, &form.settings())
        .await
    {
        Ok(_) => redirect(&format!("{}?settings=saved", connections_url(&app_id))),
        Err(EngineError::BadRequest(message)) => respond(
            StatusCode::BAD_REQUEST,
            dashboard_page(
                &signed_in,
                app.app(),
                None,
                "App-user settings",
                settings_form(&signed_in, &app_id, &form, Some(&message)),
            ),
        ),
        Err(e) => engine_failure(e, &app_id),
    }
}

fn connection_path(app_id: &str, user_id: &str, connector_id: &str) -> String {
    format!(
        "{}/app-users/{}/{}/disconnect",
        connections_url(app_id),
        encode(user_id),
        encode(connector_id)
    )
}

fn no_such_connection(app_id: &str) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "This app has no such user's connection (it may be disconnected already).",
        app_id,
    )
}

/// The link a row of the app users' table offers.
pub(super) fn disconnect_link(app_id: &str, user_id: &str, connector_id: &str) -> Markup {
    html! {
        a href=(connection_path(app_id, user_id, connector_id)) { "Disconnect…" }
    }
}

/// `GET …/app-connections/app-users/{user_id}/{connector_id}/disconnect`:
/// asks first, naming the user.
pub async fn disconnect_confirm(
    State(state): State<AppState>,
    signed_in: SignedIn,
    PagePath(AppUserConnectionSegments {
        app_id,
        user_id,
        connector_id,
    }): PagePath<AppUserConnectionSegments>,
) -> Response {
    let app = match authorize(&state, &signed_in, &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    let connection = match state.engine.list_app_user_connections(&app).await {
        Ok(list) => list
            .into_iter()
            .find(|c| c.user.id == user_id && c.connector_id == connector_id),
        Err(e) => return engine_failure(e, &app_id),
    };
    let Some(c) = connection else {
        return no_such_connection(&app_id);
    };
    let who = c.user.email.as_deref().unwrap_or(&c.user.subject);
    confirm_page(
        &signed_in,
        app.app(),
        "Disconnect an app user",
        html! {
            p { "Disconnect " b { (who) } "'s " code { (c.integration_type) } " connection (workspace connector " code { (c.connector_id) } ")? The app's functions can no longer act for this user; the user's tokens are deleted and revoked at the provider. The user can connect again from the app." }
        },
        &connection_path(&app_id, &user_id, &connector_id),
        "Disconnect",
        &connections_url(&app_id),
    )
}

/// `POST …/app-connections/app-users/{user_id}/{connector_id}/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    PagePath(AppUserConnectionSegments {
        app_id,
        user_id,
        connector_id,
    }): PagePath<AppUserConnectionSegments>,
    PageForm(form): PageForm<crate::routes::signin::CsrfForm>,
) -> Response {
    let app = match authorize_form(&state, &headers, &signed_in, form.csrf(), &app_id).await {
        Ok(app) => app,
        Err(page) => return page,
    };
    match state
        .engine
        .builder_disconnect_app_user(&app, &user_id, &connector_id)
        .await
    {
        Ok(_) => redirect(&format!(
            "{}?user_disconnected={}",
            connections_url(&app_id),
            encode(&connector_id)
        )),
        Err(EngineError::NoActiveAppUserConnection) => no_such_connection(&app_id),
        Err(e) => engine_failure(e, &app_id),
    }
}
