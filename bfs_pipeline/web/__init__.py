"""The project's own web form: answers by personal link, checked while answering (`bfs web`)."""
