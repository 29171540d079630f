"""`medgo serve` and `medgo export`: thin wrappers over medgo.serve."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from medgo.log import console


def _keys(api_key: list[str] | None, key_file: Path | None) -> list[str]:
    keys = list(api_key or [])
    keys += [k.strip() for k in os.environ.get("MEDGO_API_KEYS", "").split(",") if k.strip()]
    if key_file is not None:
        keys += [
            ln.strip()
            for ln in key_file.read_text("utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    return keys


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        target: Path = typer.Argument(..., help="run folder, model folder, or a .gguf file"),
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(8000, "--port"),
        api_key: list[str] = typer.Option(
            None, "--api-key", help="bearer key (repeatable); also MEDGO_API_KEYS"
        ),
        api_key_file: Path | None = typer.Option(None, "--api-key-file", help="one key per line"),
        engine: str = typer.Option(
            "auto", "--engine",
            help="auto | hf | llamacpp | vllm | sglang | llamacpp-server (the last three run as a supervised "
            "process behind medgo's front)",
        ),
        upstream: str | None = typer.Option(
            None, "--upstream", help="an OpenAI-compatible engine server URL to put medgo's front before"
        ),
        upstream_flavor: str | None = typer.Option(
            None, "--upstream-flavor",
            help="openai | vllm | llamacpp | llama-server | sglang: how structured outputs are passed through",
        ),
        upstream_key: str | None = typer.Option(None, "--upstream-key", help="the upstream's bearer key"),
        upstream_model: str | None = typer.Option(None, "--upstream-model", help="model id at the upstream"),
        tokenizer: Path | None = typer.Option(
            None, "--tokenizer", help="tokenizer folder for an upstream (default: the target's)"
        ),
        tensor_parallel: int = typer.Option(1, "--tensor-parallel-size", help="GPUs per model (vLLM, SGLang)"),
        engine_log: Path | None = typer.Option(None, "--engine-log", help="the engine process's output"),
        model_name: str | None = typer.Option(None, "--model-name", help="id in /v1/models"),
        max_batch: int = typer.Option(
            16, "--max-batch", help="dynamic batch size (1: one request at a time)"
        ),
        max_queue: int = typer.Option(256, "--max-queue"),
        batching: str = typer.Option(
            "continuous", "--batching", help="continuous | static (transformers engine)"
        ),
        batch_wait_ms: float = typer.Option(20.0, "--batch-wait-ms", help="wait for a batch to fill (ms)"),
        rate_limit: int = typer.Option(600, "--rate-limit", help="requests per minute per key (0: off)"),
        max_body: int = typer.Option(256 * 1024, "--max-body-bytes"),
        max_prompt_tokens: int = typer.Option(4096, "--max-prompt-tokens"),
        timeout: float = typer.Option(120.0, "--timeout", help="request timeout in seconds"),
        cors: list[str] = typer.Option(
            None, "--cors-origin", help="allowed origin (repeatable); default: CORS off"
        ),
        audit_log: Path | None = typer.Option(
            None, "--audit-log", help="JSONL audit file (text is de-identified)"
        ),
        audit_text: bool = typer.Option(True, "--audit-text/--no-audit-text"),
        audit_deid_tagger: Path | None = typer.Option(
            None, "--audit-deid-tagger", help="learned name tagger (medgo data deid-train) for the audit log"
        ),
        audit_deid_terms: list[Path] = typer.Option(
            [], "--audit-deid-terms", help="clinical term list (medgo data deid-terms) for the audit log; repeatable"
        ),
        threads: int | None = typer.Option(
            None, "--threads", help="CPU threads for generation (torch or llama.cpp)"
        ),
        dtype: str = typer.Option("float32", "--dtype"),
        index: Path | None = typer.Option(
            None, "--index", help="a `medgo index` folder: passages go into the prompt, answers list sources"
        ),
        rag_top_k: int = typer.Option(3, "--rag-top-k", help="passages per request"),
        rag_default: bool = typer.Option(
            False, "--rag-default/--no-rag-default", help="retrieve unless a request says rag=false"
        ),
    ) -> None:
        """Serve a model: OpenAI-compatible API, clinical assess endpoint and a web chat page at /."""
        from medgo.serve.runner import model_id, run_server
        from medgo.serve.settings import ServeSettings

        model_name = model_name or model_id(target)  # the run's model (runs/demo → demo-sft), before resolving
        if target.suffix != ".gguf" and engine not in ("llamacpp", "llamacpp-server"):
            from medgo.inference.registry import resolve_model

            target = resolve_model(target).model_dir
        settings = ServeSettings(
            host=host,
            port=port,
            model_name=model_name,
            api_keys=_keys(api_key, api_key_file),
            max_batch_size=max_batch,
            max_queue=max_queue,
            batching=batching,
            batch_wait_ms=batch_wait_ms,
            rate_limit_rpm=rate_limit,
            max_body_bytes=max_body,
            max_prompt_tokens=max_prompt_tokens,
            request_timeout_s=timeout,
            cors_origins=cors or [],
            audit_log=audit_log,
            audit_text=audit_text,
            audit_deid_tagger=audit_deid_tagger,
            audit_deid_terms=audit_deid_terms,
            index_dir=index,
            rag_top_k=rag_top_k,
            rag_default=rag_default,
        )
        console.print(f"medgo serve: {target} on http://{host}:{port}  (web page at /, API at /v1)")
        run_server(target, settings, engine=engine, threads=threads, dtype=dtype, upstream=upstream,
                   upstream_flavor=upstream_flavor, upstream_key=upstream_key, upstream_model=upstream_model,
                   tokenizer=tokenizer, tensor_parallel=tensor_parallel, engine_log=engine_log)

    @app.command("export")
    def export(
        run_dir: Path = typer.Argument(..., help="run folder or model folder"),
        out: Path | None = typer.Option(None, "--out", help="output folder (default: RUN_DIR/export)"),
        gguf: bool = typer.Option(False, "--gguf", help="write a GGUF file and an Ollama Modelfile"),
        quant: str = typer.Option("q4_k_m", "--quant", help="q4_k_m | q8_0 | f16"),
        merge: bool = typer.Option(
            False, "--merge", help="write a merged transformers folder (LoRA folded in)"
        ),
    ) -> None:
        """Export the run's final model for deployment (merged folder, GGUF for llama.cpp / Ollama)."""
        from medgo.errors import MedgoError
        from medgo.inference.registry import resolve_model
        from medgo.model.export import export_gguf, merge_model

        if not (gguf or merge):
            raise MedgoError("nothing to export", hint="pass --gguf and/or --merge")
        model_dir = resolve_model(run_dir).model_dir
        out = out or run_dir / "export"
        if merge:
            print(merge_model(model_dir, out / "merged"))
        if gguf:
            path = export_gguf(model_dir, out, quant)
            console.print(f"GGUF: {path}  (Ollama: cd {out} && ollama create medgo -f Modelfile)")
            print(path)
