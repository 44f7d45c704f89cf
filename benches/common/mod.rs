//! What the benches share: a `/resize` miss as the server runs it.

use imgshield::params::Params;
use imgshield::render::{Job, Rendered, Renderer};
use imgshield::types::AcceptClass;

/// What a `/resize` miss does on a worker thread (`Renderer::render`), minus fetching and metrics.
pub(crate) fn produce(renderer: &Renderer, params: &Params, source: &[u8]) -> usize {
    let selection = renderer.select(params.engine, || 0);
    let rendered = renderer
        .render(Job::Resize {
            source,
            params,
            accept: AcceptClass::Legacy,
            selection: &selection,
            watermark: None,
            private: false,
        })
        .expect("render");
    match rendered {
        Rendered::Image(made) => made.encoded.bytes.len(),
        Rendered::Json(_) => unreachable!("a resize makes an image"),
    }
}
