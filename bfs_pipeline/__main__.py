from bfs_pipeline.cli import main

main()
