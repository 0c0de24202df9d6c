//! Structured logs through `tracing`: JSON lines by default (what CloudBase's log search reads),
//! plain text with `LOG_FORMAT=text`; level from `RUST_LOG` (default `info`). Keys, signatures
//! and full openids are never logged by this crate.
//!
//! A JSON line is `{"timestamp", "level", <the event's fields, "message" among them>, "target",
//! "span": {<the request span's fields>, "name"}}`. It is written by [`JsonLine`] rather than
//! tracing-subscriber's JSON formatter: that one stores a span's fields as JSON text and parses
//! them back for every line (twice, for `span` and the `spans` list), which cost about a tenth of
//! the instructions of a whole pay callback (callgrind, `docs/performance.md`). Here a span's
//! fields are rendered once, when the span opens, and copied into each line as they are.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .with_ansi(false)
            .fmt_fields(JsonFields)
            .event_format(JsonLine)
            .try_init()
    };
}

/// Text logs at `warn` unless `RUST_LOG` says otherwise: the demo's terminal is for its
/// instructions.
pub fn init_quiet() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// One JSON object per event, on one line.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        w.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut w)?;
        write!(w, "\",\"level\":\"{}\"", meta.level())?;
        let mut fields = JsonVisitor::new(&mut w, false);
        event.record(&mut fields);
        fields.result?;
        w.write_str(",\"target\":")?;
        json_string(&mut w, meta.target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            w.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(f) = extensions.get::<FormattedFields<N>>()
                && !f.fields.is_empty()
            {
                w.write_str(&f.fields)?;
                w.write_char(',')?;
            }
            w.write_str("\"name\":")?;
            json_string(&mut w, span.name())?;
            w.write_char('}')?;
        }
        w.write_str("}\n")
    }
}

/// Renders a span's fields once, as the JSON members `"key":value,…` that [`JsonLine`] copies.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut w: Writer<'writer>, fields: R) -> fmt::Result {
        let mut v = JsonVisitor::new(&mut w, true);
        fields.record(&mut v);
        v.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut w = current.as_writer();
        let mut v = JsonVisitor::new(&mut w, first);
        fields.record(&mut v);
        v.result
    }
}

/// Writes each field as `,"name":value` (no comma before the first when `first`).
struct JsonVisitor<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl<'a, 'w> JsonVisitor<'a, 'w> {
    fn new(w: &'a mut Writer<'w>, first: bool) -> Self {
        Self {
            w,
            first,
            result: Ok(()),
        }
    }

    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'w>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.w.write_char(',')?;
            }
            json_string(self.w, field.name())?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl Visit for JsonVisitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |w| json_string(w, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value}")?;
            w.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |w| {
            if value.is_finite() {
                write!(w, "{value}")
            } else {
                write!(w, "\"{value}\"")
            }
        });
    }
}

/// `s` as a JSON string literal.
fn json_string(w: &mut impl fmt::Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    Escaped(w).write_str(s)?;
    w.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string.
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Bytes, not chars: every byte that needs escaping is ASCII, and no byte of a multi-byte
        // UTF-8 sequence is, so slicing at these positions stays on char boundaries.
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines_of(run: impl FnOnce()) -> Vec<Value> {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .fmt_fields(JsonFields)
            .event_format(JsonLine)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_line_carries_the_event_fields_and_its_request_span() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("request", request_id = "r1", path = %"/wx-pay/x");
            span.in_scope(|| {
                tracing::info!(
                    status = 200u16,
                    ms = 1.5,
                    ok = true,
                    delta = -3i64,
                    "request finished"
                )
            });
            tracing::warn!(reason = ?Some("a \"quoted\"\nline\u{1}"), "outside");
        });
        assert_eq!(lines.len(), 2);
        let a = &lines[0];
        assert_eq!(a["level"], "INFO");
        assert_eq!(a["message"], "request finished");
        assert_eq!(a["status"], 200);
        assert_eq!(a["ms"], 1.5);
        assert_eq!(a["ok"], true);
        assert_eq!(a["delta"], -3);
        assert_eq!(a["span"]["name"], "request");
        assert_eq!(a["span"]["request_id"], "r1");
        assert_eq!(a["span"]["path"], "/wx-pay/x");
        assert!(a["target"].as_str().unwrap().contains("telemetry"));
        assert!(a["timestamp"].as_str().unwrap().ends_with('Z'));
        let b = &lines[1];
        assert_eq!(b["level"], "WARN");
        assert_eq!(b["reason"], "Some(\"a \\\"quoted\\\"\\nline\\u{1}\")");
        assert!(b.get("span").is_none());
    }

    #[test]
    fn fields_recorded_later_join_the_span() {
        let lines = lines_of(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "r2",
                out_trade_no = tracing::field::Empty
            );
            span.record("out_trade_no", "T1");
            span.in_scope(|| tracing::info!("done"));
            let bare = tracing::info_span!("bare", late = tracing::field::Empty);
            bare.record("late", 7u64);
            bare.in_scope(|| tracing::info!("also done"));
        });
        assert_eq!(lines[0]["span"]["request_id"], "r2");
        assert_eq!(lines[0]["span"]["out_trade_no"], "T1");
        assert_eq!(lines[1]["span"]["late"], 7);
        assert_eq!(lines[1]["span"]["name"], "bare");
    }

    #[test]
    fn control_characters_and_non_finite_numbers_stay_valid_json() {
        let lines = lines_of(|| {
            tracing::info!(
                x = f64::NAN,
                y = f64::INFINITY,
                raw = "tab\there\u{2}é",
                "n"
            )
        });
        assert_eq!(lines[0]["x"], "NaN");
        assert_eq!(lines[0]["y"], "inf");
        assert_eq!(lines[0]["raw"], "tab\there\u{2}é");
    }
}
