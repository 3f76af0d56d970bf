//! Reports for people: charts (SVG + PNG) and documents (HTML + Markdown) for the demo, the
//! experiment tables and training curves.
//!
//! A chart (`LineChart`, `BarChart`, `Panels`) is drawn by plotters into SVG with the embedded
//! DejaVu Sans; resvg draws that SVG to PNG with the same font, so both files show the same
//! picture.

pub mod axis;
pub mod bar;
pub mod document;
pub mod font;
pub mod frame;
pub mod html;
pub mod line;
pub mod markdown;
pub mod panels;
pub mod render;
pub mod scene;

pub use bar::{BarChart, Chance, MeanStd};
pub use document::{Clip, Element, Report, Table};
pub use line::{LineChart, Marker, Series};
pub use panels::Panels;
pub use scene::Scene;
