//! Local stand-ins for what revierfeed talks to besides partners, all on
//! 127.0.0.1: an outbound HTTP proxy (absolute-form forwarding and CONNECT
//! tunnels), a site that records every request's headers, and receivers for
//! alert webhooks and mail. Hand-written: each is a few dozen lines of
//! protocol, and the tests need to see exactly what arrived.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Response};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A forward proxy: `GET http://host:port/path` is sent on to the target in
/// origin form, `CONNECT host:port` opens a tunnel. It records each target.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = proxy_one(conn, log).await;
                });
            }
        });
        Proxy { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request lines the proxy received (`GET http://…` or `CONNECT host:port`).
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

async fn proxy_one(conn: TcpStream, log: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let request_line = head[0].trim_end().to_string();
    log.lock().unwrap().push(request_line.clone());
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        let mut client = reader.into_inner();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    let url = url::Url::parse(target).map_err(std::io::Error::other)?;
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let mut upstream = TcpStream::connect(&host).await?;
    let path = &url[url::Position::BeforePath..];
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    let mut body_len = 0usize;
    for line in &head[1..] {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            body_len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            out.push_str("Connection: close\r\n");
        }
        out.push_str(line);
    }
    let mut body = vec![0; body_len];
    reader.read_exact(&mut body).await?;
    upstream.write_all(out.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await?;
    let mut client = reader.into_inner();
    client.write_all(&response).await?;
    client.shutdown().await
}

/// One request as a recording server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A server that records every request and answers with what `answer` says.
pub struct Recorder {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub type Answer = Arc<dyn Fn(&Seen) -> Response<Body> + Send + Sync>;

impl Recorder {
    pub async fn start(
        answer: impl Fn(&Seen) -> Response<Body> + Send + Sync + 'static,
    ) -> Recorder {
        let answer: Answer = Arc::new(answer);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (log, answer) = (log.clone(), answer.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let s = Seen {
                    method: parts.method.to_string(),
                    path: parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                    headers: parts.headers,
                    body,
                };
                let r = answer(&s);
                log.lock().unwrap().push(s);
                r
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// One mail as the SMTP receiver got it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server (RFC 5321 without extensions): accepts every mail.
pub struct SmtpReceiver {
    pub addr: std::net::SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(conn, store).await;
                });
            }
        });
        SmtpReceiver { addr, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn smtp_session(conn: TcpStream, store: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    reader
        .get_mut()
        .write_all(b"220 localhost ESMTP test\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 localhost\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            reader.get_mut().write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            store.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            reader.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        reader.get_mut().write_all(reply).await?;
    }
}
