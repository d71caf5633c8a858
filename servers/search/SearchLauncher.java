// Embedded OpenSearch node for development and tests (started by servers/services.sh).
//
// Usage: java <flags> -cp '<libdir>/*' servers/search/SearchLauncher.java <home> [host] [httpPort] [transportPort]
//
// A real single-node OpenSearch (plain HTTP, no security plugin, no auth) with the modules a
// distribution ships that matter to us, loaded as classpath plugins: transport-netty4,
// analysis-common (lowercase, asciifolding, edge_ngram, ...), painless, mapper-extras and
// reindex (_reindex, _update_by_query, _delete_by_query). Data and logs live under <home>.
// Stop it with SIGTERM: the shutdown hook closes the node.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public class SearchLauncher {
    private static final String[] PLUGINS = {
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.index.reindex.ReindexPlugin",
    };

    /** Subclass only to reach Node's protected constructor that takes classpath plugins. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, List<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SearchLauncher <home> [host] [httpPort] [transportPort]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        String httpPort = args.length > 2 ? args[2] : "9200";
        String transportPort = args.length > 3 ? args[3] : "9300";
        long t0 = System.nanoTime();

        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        Files.createDirectories(home.resolve("plugins"));
        Files.createDirectories(home.resolve("modules"));

        Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "sixdeg-dev")
                .put("node.name", "sixdeg-1")
                .put("discovery.type", "single-node")
                .put("network.host", host)
                .put("http.port", httpPort)
                .put("transport.port", transportPort)
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("action.auto_create_index", true)
                .build();

        // Log to the console (stdout goes to var/services/opensearch.log), INFO and up.
        Files.writeString(home.resolve("config/log4j2.properties"), String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.console.ref = console",
                ""));
        LogConfigurator.registerErrorListener();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "sixdeg-1");
        LogConfigurator.configure(env);
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String c : PLUGINS) {
            plugins.add(Class.forName(c).asSubclass(Plugin.class));
        }

        Node node = new EmbeddedNode(env, plugins);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("SEARCH_STOPPING");
            try {
                node.close();
                node.awaitClose(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Throwable t) {
                t.printStackTrace();
            }
            System.out.println("SEARCH_STOPPED");
        }, "opensearch-shutdown"));
        node.start();

        // One node: replicas can never be assigned. A catch-all, lowest-priority legacy template makes
        // new indices default to 0 replicas, so they (and the cluster) go green. An explicit
        // number_of_replicas in a create-index request or a composable template still wins.
        try {
            node.client().admin().indices().preparePutTemplate("sixdeg-single-node-defaults")
                    .setPatterns(List.of("*"))
                    .setOrder(-1000)
                    .setSettings(Settings.builder().put("index.number_of_replicas", 0))
                    .get(TimeValue.timeValueSeconds(60));
        } catch (Exception e) {
            System.err.println("SEARCH_WARNING: could not install the 0-replica default template: " + e);
        }

        System.out.printf("SEARCH_READY http://%s:%s home=%s (%.1f s in JVM)%n",
                host, httpPort, home, (System.nanoTime() - t0) / 1e9);
        System.out.flush();
        Thread.currentThread().join();
    }
}
