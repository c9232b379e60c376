//! Hydration entry: the WebAssembly module that makes the server-rendered console interactive.

use wasm_bindgen::prelude::wasm_bindgen;

/// Attaches the console's reactive code to the HTML the server rendered. Leptos's hydration
/// scripts call this export once the module has loaded.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
