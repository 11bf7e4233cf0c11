"""The app as gunicorn serves it in the benchmarks, plus a bare "hello" route to compare with.

Settings come from the VOICEAPP_* environment, as in production. The hello route goes
through the same app, so it pays for the same hooks (headers, sessions without a cookie);
it is the ceiling a page of this app could reach on this server.
"""

from voiceapp import create_app

app = create_app()


@app.get("/bench/hello")
def bench_hello() -> str:
    return "Hello, world!"
