//! Reports for people: charts (SVG + PNG, no plotting crate) and documents (HTML +
//! Markdown) for the demo, the experiment tables and training curves.
//!
//! A chart (`LineChart`, `BarChart`) lays itself out as a `Scene` of primitives; the scene
//! renders to SVG and rasterises to PNG, so both files show the same picture.

pub mod axis;
pub mod bar;
pub mod document;
pub mod font;
pub mod frame;
pub mod html;
pub mod line;
pub mod markdown;
pub mod raster;
pub mod scene;

pub use bar::{BarChart, Chance, MeanStd};
pub use document::{Block, Clip, Report, Table, Written};
pub use line::{LineChart, Series};
pub use scene::Scene;
