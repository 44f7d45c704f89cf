//! Renders `/text` banners exactly as a request does (`render::Renderer` with a `Job::Banner`), a
//! distinct text each time so no cache helps: the driver `scripts/text-bench.sh` profiles with
//! callgrind. Prints the banners per second of this thread.
//!
//! `cargo run --release --example text_banners -- [COUNT] [QUERY]`; QUERY is a `/text` query
//! whose `txt` gets a counter appended (default: 10 CJK glyphs on a 400x100 JPEG; the counter
//! replaces the last glyphs with others of the same block).

use std::time::Instant;

use imgshield::config::Config;
use imgshield::params::banner::{BannerFormat, TextRequest};
use imgshield::params::ParamLimits;
use imgshield::render::{Job, Renderer};
use imgshield::types::OutputFormat;

/// 10 CJK glyphs: 8 fixed, then two chosen by the counter among the 20,992 unified ideographs.
fn cjk_text(i: u32) -> String {
    let glyph = |n: u32| char::from_u32(0x4E00 + n % 20_992).unwrap_or('字');
    let mut text: String = "图像服务文字横幅".into();
    text.push(glyph(i));
    text.push(glyph(i / 20_992 + 7));
    text
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let count: u32 = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("COUNT: {e}"))?,
        None => 200,
    };
    let query = args.next();
    let config = Config::from_env()?;
    let renderer = Renderer::from_config(&config)?;
    let limits = ParamLimits::default();
    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..count {
        let query = match &query {
            Some(q) => format!("{q}{i}"),
            None => format!("w=400&h=100&fm=jpeg&txt={}", cjk_text(i)),
        };
        let request = TextRequest::parse(&query, &limits).map_err(|e| e.to_string())?;
        let format = match request.format {
            BannerFormat::Fixed(format) => format,
            BannerFormat::Auto => OutputFormat::Png,
        };
        let made = renderer
            .render(Job::Banner {
                request: &request,
                format,
            })
            .map_err(|e| e.to_string())?;
        if let imgshield::render::Rendered::Image(made) = made {
            bytes += made.encoded.bytes.len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} banners in {secs:.3} s: {:.0}/s, {} bytes each on average",
        f64::from(count) / secs,
        bytes / count.max(1) as usize
    );
    Ok(())
}
