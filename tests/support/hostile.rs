//! A hostile partner: an in-process HTTP server, on its own listener (so its
//! own origin and politeness slots), whose every path can be told to
//! misbehave — hang, drip, stream forever, send bombs, loop redirects, or
//! serve a feed that changes with every request. It logs each request with
//! its time and counts the bytes its endless bodies really sent.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, header};
use futures_util::StreamExt;

/// Builds a response body from the number of this request to the path (1, 2, …).
pub type Generator = Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>;

/// How one path answers.
#[derive(Clone)]
pub enum Fault {
    /// A normal 200 answer.
    Body {
        content_type: String,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// A 200 whose body is built per request (feeds that change between polls).
    Changing {
        content_type: String,
        make: Generator,
    },
    /// Reads the request and never answers.
    Hang,
    /// Answers at once, then sends `body` one byte per `every`.
    Drip {
        body: Bytes,
        every: Duration,
    },
    /// A chunked body that never ends.
    Endless,
    /// A body of `len` bytes announced in Content-Length and really sent (zeros after a feed head).
    Huge {
        len: u64,
    },
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    Redirect {
        status: u16,
        location: String,
    },
}

impl Fault {
    pub fn feed(body: impl Into<Vec<u8>>) -> Fault {
        Fault::Body {
            content_type: "application/rss+xml".into(),
            headers: Vec::new(),
            body: Bytes::from(body.into()),
        }
    }

    pub fn status(status: u16, headers: &[(&str, &str)]) -> Fault {
        Fault::Status {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Bytes::from_static(b"error"),
        }
    }

    /// A 200 HTML page.
    pub fn html(body: impl Into<Vec<u8>>) -> Fault {
        Fault::Body {
            content_type: "text/html; charset=utf-8".into(),
            headers: Vec::new(),
            body: Bytes::from(body.into()),
        }
    }

    pub fn changing(make: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static) -> Fault {
        Fault::Changing {
            content_type: "application/rss+xml".into(),
            make: Arc::new(make),
        }
    }
}

#[derive(Default)]
struct State {
    faults: HashMap<String, Fault>,
    requests: Vec<(String, Instant)>,
    counts: HashMap<String, usize>,
}

/// A misbehaving partner at `base` (`http://127.0.0.1:<port>`).
#[derive(Clone)]
pub struct HostileServer {
    pub base: String,
    pub port: u16,
    state: Arc<Mutex<State>>,
    /// Bytes of streamed bodies (drip, endless, huge) handed to the socket.
    streamed: Arc<AtomicU64>,
    /// Streamed bodies still being sent; 0 once every client hung up.
    open_streams: Arc<AtomicUsize>,
}

impl HostileServer {
    pub async fn start() -> HostileServer {
        HostileServer::start_on("127.0.0.1").await
    }

    /// Listens on `ip` (any 127.0.0.0/8 address works on Linux).
    pub async fn start_on(ip: &str) -> HostileServer {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HostileServer {
            base: format!("http://{addr}"),
            port: addr.port(),
            state: Arc::default(),
            streamed: Arc::default(),
            open_streams: Arc::default(),
        };
        let handler = server.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let h = handler.clone();
            async move { h.handle(req).await }
        });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(path.to_string(), fault);
    }

    /// Requests that reached `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests to any path.
    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    /// When each request to `path` arrived.
    pub fn times(&self, path: &str) -> Vec<Instant> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| *t)
            .collect()
    }

    pub fn streamed_bytes(&self) -> u64 {
        self.streamed.load(Ordering::SeqCst)
    }

    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::SeqCst)
    }

    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let (fault, n) = {
            let mut state = self.state.lock().unwrap();
            state.requests.push((path.clone(), Instant::now()));
            let n = {
                let n = state.counts.entry(path.clone()).or_default();
                *n += 1;
                *n
            };
            (state.faults.get(&path).cloned(), n)
        };
        let ok = |ct: &str| {
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, ct)
        };
        match fault {
            None => Response::builder()
                .status(404)
                .body(Body::from("not found"))
                .unwrap(),
            Some(Fault::Body {
                content_type,
                headers,
                body,
            }) => {
                let mut r = ok(&content_type);
                for (k, v) in headers {
                    r = r.header(k, v);
                }
                r.body(Body::from(body)).unwrap()
            }
            Some(Fault::Changing { content_type, make }) => {
                ok(&content_type).body(Body::from(make(n))).unwrap()
            }
            Some(Fault::Hang) => std::future::pending::<Response<Body>>().await,
            Some(Fault::Drip { body, every }) => {
                let bytes: Vec<Bytes> =
                    body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
                let stream = futures_util::stream::iter(bytes).then(move |b| async move {
                    tokio::time::sleep(every).await;
                    Ok::<_, Infallible>(b)
                });
                ok("application/rss+xml")
                    .body(self.counted(stream))
                    .unwrap()
            }
            Some(Fault::Endless) => {
                let chunk =
                    Bytes::from("<item><title>noch eine Meldung</title></item>\n".repeat(1000));
                let head =
                    Bytes::from_static(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>");
                let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(head) })
                    .chain(futures_util::stream::repeat_with(move || Ok(chunk.clone())));
                ok("application/rss+xml")
                    .body(self.counted(stream))
                    .unwrap()
            }
            Some(Fault::Huge { len }) => {
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let chunks = len.div_ceil(chunk.len() as u64);
                let last = len - (chunks - 1) * chunk.len() as u64;
                let stream = futures_util::stream::iter(0..chunks).map(move |i| {
                    Ok::<_, Infallible>(if i + 1 == chunks {
                        chunk.slice(..last as usize)
                    } else {
                        chunk.clone()
                    })
                });
                ok("application/rss+xml")
                    .header(header::CONTENT_LENGTH, len)
                    .body(self.counted(stream))
                    .unwrap()
            }
            Some(Fault::Status {
                status,
                headers,
                body,
            }) => {
                let mut r = Response::builder().status(status);
                for (k, v) in headers {
                    r = r.header(k, v);
                }
                r.body(Body::from(body)).unwrap()
            }
            Some(Fault::Redirect { status, location }) => Response::builder()
                .status(status)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .unwrap(),
        }
    }

    /// A streamed body that counts what it sends and whether it is still being sent.
    fn counted(
        &self,
        stream: impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
    ) -> Body {
        struct Open(Arc<AtomicUsize>);
        impl Drop for Open {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.open_streams.fetch_add(1, Ordering::SeqCst);
        let open = Open(self.open_streams.clone());
        let streamed = self.streamed.clone();
        Body::from_stream(stream.map(move |chunk| {
            let _alive = &open;
            if let Ok(c) = &chunk {
                streamed.fetch_add(c.len() as u64, Ordering::SeqCst);
            }
            chunk
        }))
    }
}

/// An RSS 2.0 document with the given (guid, title, description) items.
pub fn rss(items: &[(String, String, String)]) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Feindlicher Partner</title><link>https://partner.example/</link>\n",
    );
    for (guid, title, description) in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>https://partner.example/{}</link><description>{}</description><pubDate>Mon, 02 Mar 2026 10:00:00 +0100</pubDate></item>\n",
            esc(guid),
            esc(title),
            esc(guid),
            esc(description)
        ));
    }
    out.push_str("</channel></rss>\n");
    out.into_bytes()
}

/// A news page whose body nests `levels` unclosed `<div>`s around one
/// article teaser: about 11 bytes a level, so 200,000 levels are 2.2 MB
/// (html5ever's scope checks make parsing it quadratic in the depth).
pub fn deeply_nested_page(levels: usize) -> Vec<u8> {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><title>Tief</title></head><body><main><article><h2><a href=\"/news/tief\">Tief verschachtelt</a></h2><time datetime=\"2026-03-02\">2. März 2026</time></article>",
    );
    out.push_str(&"<div class=x>".repeat(levels));
    out.push_str("Ende");
    out.into_bytes()
}

/// A small valid feed of `n` items with guids `{prefix}-1` … `{prefix}-n`.
pub fn small_feed(prefix: &str, n: usize) -> Vec<u8> {
    let items: Vec<(String, String, String)> = (1..=n)
        .map(|i| {
            (
                format!("{prefix}-{i}"),
                format!("{prefix} Meldung {i}"),
                format!("<p>Text der Meldung {i} von {prefix}.</p>"),
            )
        })
        .collect();
    rss(&items)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A gzip member that inflates to `size` zero bytes (a multiple of 1 MiB)
/// from about a thousandth of that: the classic "zip bomb" ratio. Built by
/// repeating one sync-flushed deflate block per MiB (every MiB after the
/// first compresses to the same bytes, its window being zeros either way),
/// so a 1 GiB bomb costs milliseconds, not a gigabyte of compression.
pub fn gzip_bomb(size: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const MIB: usize = 1 << 20;
    assert!(size >= 2 * MIB as u64 && size % MIB as u64 == 0);
    let zeros = vec![0u8; MIB];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut block = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(64 * 1024);
        let before = deflate.total_in();
        deflate.compress_vec(input, &mut out, flush).unwrap();
        assert_eq!(deflate.total_in() - before, input.len() as u64);
        out
    };
    let first = block(&zeros, FlushCompress::Sync);
    let next = block(&zeros, FlushCompress::Sync);
    let again = block(&zeros, FlushCompress::Sync);
    assert_eq!(
        next, again,
        "a MiB of zeros must compress the same every time"
    );
    let finish = block(&[], FlushCompress::Finish);
    let mut crc = flate2::Crc::new();
    let mib = size / MIB as u64;
    for _ in 0..mib {
        crc.update(&zeros);
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
    out.extend_from_slice(&first);
    for _ in 0..mib - 1 {
        out.extend_from_slice(&next);
    }
    out.extend_from_slice(&finish);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}
