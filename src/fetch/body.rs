//! Reading a response body under two limits: the bytes on the wire, counted
//! as they arrive whatever Content-Length said, and the bytes after
//! gunzip/brotli, so a small compressed body cannot inflate without bound.

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

use super::headers::header_string;
use super::{FetchError, Limits, error_chain};

/// The whole body, decoded per Content-Encoding (identity, gzip, br).
pub(super) async fn read_body(
    response: reqwest::Response,
    limits: &Limits,
) -> Result<Bytes, FetchError> {
    let limit = limits.max_body_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge { limit });
    }
    let encoding = header_string(response.headers(), header::CONTENT_ENCODING)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // Count wire bytes as they arrive and stop at the limit, whatever Content-Length said.
    let mut wire_bytes = 0u64;
    let stream = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        wire_bytes += chunk.len() as u64;
        if wire_bytes > limit {
            return Err(std::io::Error::other(BodyLimit));
        }
        Ok(chunk)
    });
    let raw = BufReader::new(tokio_util::io::StreamReader::new(stream));
    let decoded: Box<dyn AsyncRead + Unpin + Send> = match encoding.as_str() {
        "" | "identity" => Box::new(raw),
        "gzip" | "x-gzip" => {
            // A gzip body may be several members in a row (RFC 1952 2.2).
            let mut d = GzipDecoder::new(raw);
            d.multiple_members(true);
            Box::new(d)
        }
        "br" => Box::new(BrotliDecoder::new(raw)),
        other => return Err(FetchError::Encoding(other.to_string())),
    };
    let decompressed_limit = limits.max_decompressed_bytes;
    let mut out = Vec::new();
    let read = decoded
        .take(decompressed_limit + 1)
        .read_to_end(&mut out)
        .await;
    match read {
        Ok(_) if out.len() as u64 > decompressed_limit => Err(FetchError::DecompressedTooLarge {
            limit: decompressed_limit,
        }),
        Ok(_) => Ok(Bytes::from(out)),
        Err(e) if is_body_limit(&e) => Err(FetchError::TooLarge { limit }),
        Err(e) if !encoding.is_empty() && encoding != "identity" && e.get_ref().is_none() => {
            Err(FetchError::Decompress(e.to_string()))
        }
        Err(e) => Err(FetchError::Network(error_chain(&e))),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("body limit reached")]
struct BodyLimit;

fn is_body_limit(e: &std::io::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|e| e as _);
    while let Some(err) = source {
        if err.is::<BodyLimit>() {
            return true;
        }
        source = err.source();
    }
    false
}
