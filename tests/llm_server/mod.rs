//! A small OpenAI-compatible chat server for the LLM paraphraser's tests, on 127.0.0.1: it
//! reads the numbered captions of each request's prompt and answers what the test says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the fake server saw.
#[derive(Default)]
pub struct Seen {
    pub requests: usize,
    pub auth: Vec<String>,
    pub captions_per_request: Vec<usize>,
}

pub type Reply = dyn Fn(usize, &[String]) -> (u16, String) + Send + Sync;

/// Serve POST /v1/chat/completions on 127.0.0.1:0; `reply(request_index, captions)` gives
/// the status and the assistant's content (or an error body).
pub fn serve(reply: Arc<Reply>) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (reply, seen) = (reply.clone(), s2.clone());
            std::thread::spawn(move || handle(stream, &*reply, &seen));
        }
    });
    (url, seen)
}

fn handle(mut stream: TcpStream, reply: &Reply, seen: &Mutex<Seen>) {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("POST /v1/chat/completions "), "{line}");
    let (mut len, mut auth) = (0, String::new());
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap(),
            "authorization" => auth = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(req["model"].as_str().is_some());
    let prompt = req["messages"][1]["content"].as_str().unwrap();
    // The numbered lines of the prompt are the captions.
    let captions: Vec<String> = prompt
        .lines()
        .filter_map(|l| {
            l.split_once(". ")
                .filter(|(n, _)| n.parse::<usize>().is_ok())
        })
        .map(|(_, c)| c.to_string())
        .collect();
    let index = {
        let mut s = seen.lock().unwrap();
        s.requests += 1;
        s.auth.push(auth);
        s.captions_per_request.push(captions.len());
        s.requests - 1
    };
    let (status, content) = reply(index, &captions);
    let body = if status == 200 {
        serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
            .to_string()
    } else {
        content
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
