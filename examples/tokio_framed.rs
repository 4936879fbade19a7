//! The uppercasing server on Tokio with tokio-util's framing: each
//! connection is a `FramedRead` of uppercased chunks (`UpcaseDecoder`)
//! forwarded into a `FramedWrite` of raw bytes.
//!
//! `cargo run --example tokio_framed [ADDR]` (default 127.0.0.1:12000).

use std::io;

use futures_util::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{BytesCodec, FramedRead, FramedWrite};
use upcase::io::tokio_util::UpcaseDecoder;

#[tokio::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:12000".into());
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts clients forever, each in its own task.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(err) = handle(stream).await {
                eprintln!("client {peer}: {err}");
            }
        });
    }
}

/// Uppercased chunks out as they come in; at the client's end of stream,
/// the held tail, then our end of stream (`forward` closes the sink).
async fn handle(stream: TcpStream) -> io::Result<()> {
    let (reader, writer) = stream.into_split();
    let upper = FramedRead::new(reader, UpcaseDecoder::new());
    upper
        .forward(FramedWrite::new(writer, BytesCodec::new()))
        .await
}

#[cfg(test)]
#[path = "support/textbook_client.rs"]
mod textbook_client;

#[test]
fn answers_the_textbook_client() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(serve(listener));
    textbook_client::check(addr);
}
