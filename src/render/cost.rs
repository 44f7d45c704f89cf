//! Work that cannot be stopped once begun is bounded before it begins: a decode the kill flag
//! cannot reach must fit half the time limit (the rest is for the steps it can reach), judged from
//! the file's markers ([`uninterruptible_decode`]). A source refused here is refused on every try,
//! whatever the machine's load: 422 `source_too_complex`.

use super::{RenderError, Renderer};
use crate::engine::{uninterruptible_decode, MAX_JPEG_SCANS};

impl Renderer {
    /// Refuses `source` when decoding it would start an uninterruptible call that is too long.
    pub(super) fn check_decode_cost(&self, source: &[u8]) -> Result<(), RenderError> {
        let Some(decode) = uninterruptible_decode(source) else {
            return Ok(());
        };
        if decode.scans > MAX_JPEG_SCANS {
            return Err(RenderError::TooComplex(format!(
                "the source is a progressive JPEG of {} scans, more than the {MAX_JPEG_SCANS} \
                 allowed (its decode cannot be interrupted)",
                decode.scans
            )));
        }
        let budget = self.limits.time_limit / 2;
        if decode.estimate > budget {
            return Err(RenderError::TooComplex(format!(
                "the source is a progressive JPEG whose decode ({} scans) cannot be interrupted \
                 and would take about {} ms, more than the {} ms allowed",
                decode.scans,
                decode.estimate.as_millis(),
                budget.as_millis()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::samples::{photo_pixels, scan_heavy_jpeg};
    use crate::vips::{Image, SaveFormat};

    fn renderer(limit: &str) -> Renderer {
        use clap::Parser;
        let config = Config::try_parse_from(["imgshield", "--max-processing-time", limit])
            .expect("a config");
        Renderer::from_config(&config).expect("a renderer")
    }

    fn refused(renderer: &Renderer, source: &[u8]) -> bool {
        matches!(
            renderer.check_decode_cost(source),
            Err(RenderError::TooComplex(_))
        )
    }

    fn progressive_photo(width: u32, height: u32) -> Vec<u8> {
        let format = SaveFormat::Jpeg {
            quality: 85,
            progressive: true,
            strip: true,
        };
        Image::from_pixels(&photo_pixels(width, height, 3), width, height, 3)
            .and_then(|image| image.save(format))
            .expect("a progressive jpeg")
    }

    #[test]
    fn too_many_scans_are_refused_at_any_size() {
        let ten_seconds = renderer("10s");
        assert!(refused(&ten_seconds, &scan_heavy_jpeg(64, 64, 9)));
        assert!(refused(&ten_seconds, &scan_heavy_jpeg(16, 16, 0)));
    }

    #[test]
    fn an_ordinary_progressive_file_passes_unless_the_budget_is_tiny() {
        let photo = progressive_photo(2000, 1500);
        assert!(!refused(&renderer("10s"), &photo));
        // ~9 ms of scans and ~50 ms of data against a 5 ms budget.
        assert!(refused(&renderer("10ms"), &photo));
        let baseline = crate::samples::photo_jpeg(2000, 1500, 3, 85).expect("jpeg");
        assert!(!refused(&renderer("10ms"), &baseline));
    }
}
